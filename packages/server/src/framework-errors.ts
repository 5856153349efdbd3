import http from "node:http";
import type { Socket } from "node:net";
import { ERRORS, type ErrorSpec, errorBody } from "@threadline/protocol";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { HttpError, httpError, sendError } from "./errors.js";

/** Path parameters up to this long reach our handlers (ids are ≤ 128 chars); longer ones are 414. */
export const MAX_PARAM_LENGTH = 256;

/**
 * Fastify options that keep the `{ error: { code, message } }` shape on the errors Fastify and Node
 * answer before any handler runs: a path parameter too long (414), a malformed URL, headers or URL too
 * large (431), a request that timed out (408). Without them those bodies are Fastify's own shape.
 */
export function contractFrameworkOptions() {
  return {
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
      if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
        return sendError(
          reply,
          httpError(ERRORS.URI_TOO_LONG, `a path segment is longer than ${MAX_PARAM_LENGTH} characters`),
        );
      }
      return sendError(reply, new HttpError(400, ERRORS.BAD_REQUEST.code, error.message));
    },
    clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      const spec: ErrorSpec & { status: number } =
        error.code === "HPE_HEADER_OVERFLOW"
          ? ERRORS.HEADERS_TOO_LARGE
          : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? ERRORS.REQUEST_TIMEOUT
            : ERRORS.BAD_REQUEST;
      if (socket.writable) {
        const body = JSON.stringify(errorBody(spec));
        socket.write(
          `HTTP/1.1 ${spec.status} ${http.STATUS_CODES[spec.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy(error);
    },
  };
}
