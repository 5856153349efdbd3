import {
  abortableSleep,
  ERRORS,
  parseRetryAfter,
  STREAM_ERROR_CODES,
  ThreadEvent,
  WS_CLOSE_CODES,
  WsServerMessage,
} from "@threadline/protocol";
import { toThreadlineError } from "./threadline-error.js";
import type { FetchLike, WebSocketConstructor, WebSocketLike } from "./types.js";
import type { WatchOutcome, WatchSession } from "./watch-session.js";

const OPEN = 1;

export interface WebSocketRequest {
  gatewayUrl: string;
  fetch: FetchLike;
  WebSocket: WebSocketConstructor;
  token: string | undefined;
  /** No socket has opened in this watch yet and it may switch to SSE (`transport: "auto"`). */
  mayFallBack: boolean;
  /** A socket still connecting after this long is closed and counts as not opened. */
  openTimeoutMs: number;
}

/**
 * One WebSocket (`GET /v1/ws`) carrying every watched thread until it closes: subscribes each with its
 * resume position, follows the session's changes, and turns what the gateway sends into the session's
 * events, gaps and thread errors.
 */
export async function connectWebSocket(session: WatchSession, req: WebSocketRequest): Promise<WatchOutcome> {
  const base = req.gatewayUrl.replace(/\/+$/, "");
  const opened = await new Promise<{ opened: false } | { opened: true; outcome: WatchOutcome }>((resolve) => {
    const { signal } = session;
    // Browsers' WebSocket cannot send headers: the token goes in the query (the gateway never logs it).
    const url = `${base.replace(/^http/, "ws")}/v1/ws${req.token ? `?access_token=${encodeURIComponent(req.token)}` : ""}`;
    const socket = new req.WebSocket(url);
    let wasOpen = false;
    const send = (message: object) => {
      if (socket.readyState === OPEN) socket.send(JSON.stringify(message));
    };
    const subscribe = (threadId: string) => {
      const after = session.startOf(threadId);
      const start = after !== undefined ? { after } : session.snapshot ? { snapshot: true } : {};
      send({ type: "subscribe", threadId, ...start });
    };
    const onAbort = () => {
      socket.close(1000);
      finish({ opened: true, outcome: { type: "aborted" } });
    };
    // A proxy may hold the upgrade forever (browsers wait minutes): give up and find out why.
    const openTimer = setTimeout(() => {
      socket.close();
      finish({ opened: false });
    }, req.openTimeoutMs);
    const finish = (result: { opened: false } | { opened: true; outcome: WatchOutcome }) => {
      clearTimeout(openTimer);
      signal.removeEventListener("abort", onAbort);
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Closing a socket that is still connecting reports an error afterwards (the `ws` package
      // emits it): it must find a listener.
      socket.onerror = () => {};
      session.link(undefined);
      resolve(result);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.onopen = () => {
      clearTimeout(openTimer);
      wasOpen = true;
      session.link({ subscribe, unsubscribe: (threadId) => send({ type: "unsubscribe", threadId }) });
      for (const threadId of session.active) subscribe(threadId);
      session.opened();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") onFrame(session, event.data, socket, subscribe);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (!wasOpen) return finish({ opened: false });
      finish({
        opened: true,
        outcome:
          event.code === WS_CLOSE_CODES.tokenExpired
            ? { type: "token_expired" }
            : { type: "ended", reason: "server_closed" },
      });
    };
  });
  if (opened.opened) return opened.outcome;
  return whyNotOpened(session.signal, req);
}

function onFrame(
  session: WatchSession,
  text: string,
  socket: WebSocketLike,
  subscribe: (threadId: string) => void,
) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return;
  }
  const frame = WsServerMessage.safeParse(json);
  if (!frame.success) return;
  const message = frame.data;
  if (message.type === "subscribed") {
    // A snapshot join's `subscribed` names the log's start: resuming there would replay every token.
    return session.snapshot ? undefined : session.confirmed(message.threadId, message.after);
  }
  if (message.type === "event") {
    const parsed = ThreadEvent.safeParse(message.event);
    if (parsed.success) session.event(parsed.data);
    return;
  }
  const { threadId, code } = message;
  if (threadId === undefined || !session.active.has(threadId)) return;
  if (code === STREAM_ERROR_CODES.replayTruncated)
    return session.gap(threadId, message.message, message.after);
  // TOKEN_EXPIRED: the gateway closes with 4001 next, and the loop reconnects with a fresh token.
  if (code === STREAM_ERROR_CODES.tokenExpired) return;
  const retrying = code === STREAM_ERROR_CODES.replayFailed || code === ERRORS.REDIS_UNAVAILABLE.code;
  session.threadError(threadId, code, message.message, retrying);
  if (!retrying) return;
  const { signal } = session;
  void abortableSleep(session.retryDelay(), signal).then(() => {
    if (!signal.aborted && session.active.has(threadId) && socket.readyState === OPEN) subscribe(threadId);
  });
}

/**
 * Why the socket did not open (browsers do not say): the same URL as plain HTTP, which the gateway
 * authenticates and admits exactly as the upgrade, answering 426 when both would have passed. A 426
 * then means something on the way dropped the upgrade (a proxy without WebSocket support); a 404/405
 * or a success means the route is not the gateway's — both are what the SSE fallback is for.
 */
async function whyNotOpened(signal: AbortSignal, req: WebSocketRequest): Promise<WatchOutcome> {
  let response: Response;
  try {
    response = await req.fetch(`${req.gatewayUrl.replace(/\/+$/, "")}/v1/ws`, {
      headers: req.token ? { authorization: `Bearer ${req.token}` } : {},
      signal,
    });
  } catch (error) {
    if (signal.aborted) return { type: "aborted" };
    return { type: "ended", reason: "network", error };
  }
  const { status } = response;
  const upgradeLost = status === 426 || status === 404 || status === 405 || (status >= 200 && status < 400);
  if (upgradeLost) {
    await response.body?.cancel().catch(() => {});
    if (req.mayFallBack)
      return { type: "fallback", why: `the WebSocket did not open; GET /v1/ws answers ${status}` };
    if (status === 426 || status < 400) return { type: "ended", reason: "network" };
  }
  return {
    type: "refused",
    error: await toThreadlineError(response),
    retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
  };
}
