import type { IncomingMessage, ServerResponse } from "node:http";
import { ERRORS, type ErrorSpec } from "@threadline/protocol";
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  RawServerDefault,
} from "fastify";

/** An error with an HTTP status and a stable code, rendered as `{ error: { code, message, details? } }`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** An HttpError for a catalog entry: its status and code, its message unless a more precise one is given. */
export function httpError(
  spec: ErrorSpec & { status: number },
  message: string = spec.message,
  details?: unknown,
  headers?: Record<string, string>,
): HttpError {
  return new HttpError(spec.status, spec.code, message, details, headers);
}

export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  reply.headers(error.headers);
  return reply.code(error.statusCode).send({
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  });
}

/** Fastify's own errors mapped to our codes; the body is always JSON and never a stack trace. */
const FASTIFY_CODES: Record<string, () => HttpError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => httpError(ERRORS.BODY_TOO_LARGE, "request body is too large"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => httpError(ERRORS.UNSUPPORTED_MEDIA_TYPE),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => httpError(ERRORS.INVALID_BODY, "the JSON body is empty"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    httpError(ERRORS.INVALID_BODY, "content-length does not match the body"),
};

/** Installs the JSON error shape for thrown errors and unknown routes. */
export function installErrorHandling<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error);
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return sendError(reply, mapped());
    if (error.statusCode === 400 && error.message.includes("JSON")) {
      return sendError(reply, httpError(ERRORS.INVALID_BODY, `the body is not valid JSON: ${error.message}`));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, new HttpError(error.statusCode, ERRORS.BAD_REQUEST.code, error.message));
    }
    request.log.error({ err: error }, "request failed");
    return sendError(reply, httpError(ERRORS.INTERNAL));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      httpError(ERRORS.NOT_FOUND, `no route for ${request.method} ${request.url.split("?")[0]}`),
    ),
  );
}
