import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ERRORS, errorBody } from "@threadline/protocol";

export interface StalledConnectionOptions {
  /** A new connection must deliver one complete request (headers and body) within this bound. */
  requestTimeoutMs: number;
  /** Called with why a connection was closed (metrics, logs). */
  onClose?(reason: "no_request" | "incomplete_request"): void;
}

interface SocketState {
  timer?: NodeJS.Timeout;
  /** The request being received or answered on this socket, if any. */
  request?: IncomingMessage;
}

const TIMEOUT_BODY = JSON.stringify(errorBody(ERRORS.REQUEST_TIMEOUT));
const REQUEST_TIMEOUT_REPLY =
  "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n" +
  `Content-Length: ${Buffer.byteLength(TIMEOUT_BODY)}\r\n\r\n${TIMEOUT_BODY}`;

/**
 * Closes connections that do not send a complete request in time: a socket that says nothing, or
 * dribbles headers or a body a byte at a time, would otherwise hold a file descriptor forever
 * (Node's own headersTimeout/requestTimeout start only with the first byte, and Fastify turns the
 * request timeout off). The clock starts when the socket connects, and again when a response ends
 * (then it runs for the keep-alive timeout, which already closes a socket that stays silent).
 * Once a request is complete the socket is left alone: SSE streams and upgraded WebSockets live on.
 */
export function closeStalledConnections(server: Server, options: StalledConnectionOptions): void {
  const states = new WeakMap<Socket, SocketState>();
  const arm = (socket: Socket, ms: number) => {
    const state = states.get(socket) ?? {};
    states.set(socket, state);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => expire(socket, state), ms);
    state.timer.unref();
  };
  const expire = (socket: Socket, state: SocketState) => {
    state.timer = undefined;
    // Upgraded (WebSocket) sockets leave the HTTP parser: not ours to police any more.
    if (socket.destroyed || !(socket as Socket & { parser?: unknown }).parser) return;
    const request = state.request;
    if (request?.complete) return;
    if (request) {
      options.onClose?.("incomplete_request");
      socket.destroy();
      return;
    }
    options.onClose?.("no_request");
    socket.end(REQUEST_TIMEOUT_REPLY);
    socket.destroySoon();
  };
  server.on("connection", (socket: Socket) => {
    arm(socket, options.requestTimeoutMs);
    socket.once("close", () => clearTimeout(states.get(socket)?.timer));
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const state = states.get(socket);
    if (!state) return;
    state.request = request;
    response.once("finish", () => {
      if (state.request !== request) return;
      state.request = undefined;
      if (!socket.destroyed) arm(socket, Math.max(server.keepAliveTimeout, options.requestTimeoutMs));
    });
  });
}
