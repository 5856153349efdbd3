import { z } from "zod";

/**
 * Where a code travels: `http` in a `{ error: { code, message } }` response body; `stream` in-band as a
 * gateway `event: error` (not in the replay log); `run` in a run's own `error` event (and its record);
 * `tool` in a `tool_result` delta; `client` made up by the SDK for a response it could not read;
 * `publish` the publish script's refusal of an event (the first word of its error reply, which the
 * `.lua` scripts spell out because they cannot import this file; a test checks they match); `socket` in a
 * WebSocket `{type:"error"}` frame or close reason (`GET /v1/ws`).
 */
export type ErrorChannel = "http" | "stream" | "run" | "tool" | "client" | "publish" | "socket";

/** One entry of the catalog: the wire code, its HTTP status (for `http` codes), whether retrying can help. */
export interface ErrorSpec<C extends string = string> {
  readonly code: C;
  readonly status?: number;
  readonly retryable: boolean;
  /** The default message; senders may say more (which field, which limit) but never less. */
  readonly message: string;
  readonly channels: readonly ErrorChannel[];
}

type Entry = Omit<ErrorSpec, "code">;
const http = <S extends number>(status: S, message: string, retryable = false) =>
  ({ status, retryable, message, channels: ["http"] }) as const;
/** An HTTP code that the WebSocket transport also sends in an error frame. */
const httpAndSocket = <S extends number>(status: S, message: string, retryable = false) =>
  ({ status, retryable, message, channels: ["http", "socket"] }) as const;

/**
 * Every error code Threadline puts on the wire, in one place. Services, the SDK and the CLI import codes
 * from here; a string literal of a code anywhere else is a bug (a test greps for them).
 */
const SPECS = {
  // 400 — fix the request.
  INVALID_BODY: http(400, "the body is invalid: fix the fields named in details.issues"),
  INVALID_PARAMS: http(
    400,
    "a path parameter is malformed: ids are 1-128 characters of A-Z, a-z, 0-9, _ or -",
  ),
  INVALID_QUERY: http(400, "a query parameter is malformed: see details.issues"),
  INVALID_INPUT: http(
    400,
    "the agent's input schema refuses `input`: fix the fields named in details.issues",
  ),
  UNKNOWN_AGENT: http(400, "`agent` names no registered agent"),
  AGENT_UNAVAILABLE: {
    status: 400,
    retryable: false,
    message: "the agent is not configured on this deployment (a missing API key or model)",
    channels: ["http", "run"],
  },
  INVALID_THREAD_ID: httpAndSocket(400, "the thread id must be 1-128 characters of A-Z, a-z, 0-9, _ or -"),
  INVALID_LAST_EVENT_ID: http(400, "Last-Event-ID must be an event id like 1700000000000-0, or 0"),
  TOO_MANY_THREADS: httpAndSocket(
    400,
    "too many threads on one connection (MAX_THREADS_PER_CONNECTION): split them over several connections",
  ),
  BAD_REQUEST: http(400, "the request is malformed"),
  EXTERNAL_RUNS_UNAVAILABLE: http(
    400,
    "external runs need the API to sign publish tokens: set JWT_SECRET (HS256) on the API",
  ),
  // 401 — get a (new) token.
  TOKEN_MISSING: httpAndSocket(401, "send a token: Authorization: Bearer <jwt>"),
  TOKEN_INVALID: httpAndSocket(401, "the token is not accepted"),
  TOKEN_EXPIRED: {
    status: 401,
    retryable: true,
    message: "the token has expired: get a new one and reconnect",
    channels: ["http", "stream", "socket"],
  },
  TOKEN_NOT_YET_VALID: httpAndSocket(401, "the token is not valid yet (nbf)"),
  TOKEN_IN_QUERY_REFUSED: http(401, "send the token in the Authorization header, not the URL"),
  // 403 — this token may not do this.
  FORBIDDEN: httpAndSocket(403, "this token may not use this thread"),
  ADMIN_REQUIRED: http(403, 'this needs a token with role "admin"'),
  QUEUE_ACTIONS_DISABLED: http(
    403,
    "the queue dashboard is read-only: set ADMIN_QUEUE_ACTIONS=1 on the API to allow actions",
  ),
  // 404 / 405 / 409.
  NOT_FOUND: http(404, "no such route"),
  RUN_NOT_FOUND: httpAndSocket(404, "no such run in this thread"),
  THREAD_NOT_FOUND: http(404, "no such thread (or it has no owner)"),
  METHOD_NOT_ALLOWED: http(405, "use GET"),
  RUN_FINISHED: httpAndSocket(409, "the run already ended; nothing to cancel"),
  RUN_NOT_EXTERNAL: http(
    409,
    "the run is run by Threadline's workers; only external runs take published events",
  ),
  RUN_ENDED: {
    status: 409,
    retryable: false,
    message: "the run already published its done: nothing may follow it; start a new run",
    channels: ["http", "publish"],
  },
  UPGRADE_REQUIRED: http(
    426,
    "GET /v1/ws is a WebSocket: send Upgrade: websocket (this answer means the token and limits would have passed)",
  ),
  // Request too large / wrong type.
  REQUEST_TIMEOUT: http(
    408,
    "no complete request within REQUEST_TIMEOUT_MS of connecting; send the request at once",
    true,
  ),
  BODY_TOO_LARGE: http(413, "the request body is too large"),
  EVENT_TOO_LARGE: http(413, "an event's content is larger than MAX_EVENT_BYTES"),
  URI_TOO_LONG: http(414, "the request URL is too long"),
  UNSUPPORTED_MEDIA_TYPE: http(415, "send the body as application/json"),
  HEADERS_TOO_LARGE: http(431, "the request headers (or URL) are too large"),
  // 429 / 5xx — wait (Retry-After) and try again.
  RATE_LIMITED: http(429, "too many requests: retry after Retry-After", true),
  TOO_MANY_STREAMS: http(429, "this subject has too many open streams (MAX_STREAMS_PER_SUBJECT)", true),
  INTERNAL: http(500, "internal error; see the service log", true),
  UNAVAILABLE: http(
    503,
    "the service cannot do this right now (Redis trouble); retry after Retry-After",
    true,
  ),
  NOT_READY: http(503, "not ready: Redis does not answer", true),
  ARCHIVE_DISABLED: http(503, "thread history needs the archive: set DATABASE_URL (and not ARCHIVE=off)"),
  REDIS_UNAVAILABLE: httpAndSocket(503, "cannot reach Redis; retry shortly", true),
  SHUTTING_DOWN: http(503, "this gateway is shutting down; reconnect", true),
  TOO_MANY_CONNECTIONS: http(503, "this gateway is at MAX_CONNECTIONS; retry later or elsewhere", true),
  // In-band stream notices from the gateway (`event: error`, never in the replay log).
  REPLAY_TRUNCATED: {
    retryable: false,
    message: "events after the resume position are no longer retained; what follows is everything left",
    channels: ["stream", "socket"],
  },
  THREAD_DELETED: {
    retryable: false,
    message: "this thread was deleted",
    channels: ["stream", "socket"],
  },
  REPLAY_FAILED: {
    retryable: true,
    message: "could not read the replay log; reconnect with Last-Event-ID",
    channels: ["stream", "socket"],
  },
  // WebSocket only (`GET /v1/ws`): a message the gateway cannot take, and the slow-consumer close reason.
  INVALID_MESSAGE: {
    retryable: false,
    message:
      'the message is not a JSON object of type "subscribe", "unsubscribe", "cancel" or "refresh" with valid fields',
    channels: ["socket"],
  },
  SLOW_CONSUMER: {
    retryable: true,
    message: "the client did not read: unsent bytes passed SSE_MAX_BUFFER_BYTES; reconnect and resume",
    channels: ["socket"],
  },
  // A run's own `error` events (also stored as the run record's `error`).
  AGENT_FAILED: { retryable: true, message: "the agent threw", channels: ["run"] },
  RUN_STALLED: {
    retryable: false,
    message: "the run's worker stopped responding too often; start a new run",
    channels: ["run"],
  },
  RUNNER_LOST: {
    retryable: false,
    message: "the external run's producer went silent (EXTERNAL_RUN_TIMEOUT_MS); start a new run",
    channels: ["run"],
  },
  INVALID_JOB: { retryable: false, message: "the job data is invalid", channels: ["run"] },
  ENQUEUE_FAILED: {
    retryable: true,
    message: "the run could not be queued; start it again",
    channels: ["run"],
  },
  PROVIDER_AUTH_FAILED: run(false, "the LLM provider refused the API key"),
  PROVIDER_FORBIDDEN: run(false, "the LLM provider refused access to the model"),
  PROVIDER_BAD_REQUEST: run(false, "the LLM provider refused the request"),
  PROVIDER_RATE_LIMITED: run(true, "the LLM provider is rate limiting"),
  PROVIDER_UNAVAILABLE: run(true, "the LLM provider is unavailable"),
  PROVIDER_UNREACHABLE: run(true, "the LLM provider is unreachable"),
  PROVIDER_DISCONNECTED: run(true, "the LLM provider closed the stream early"),
  PROVIDER_STREAM_ERROR: run(true, "the LLM provider reported an error mid-stream"),
  PROVIDER_BAD_RESPONSE: run(false, "the LLM provider sent a response the agent cannot read"),
  BUDGET_EXCEEDED: run(
    false,
    "the run reached its budget (budget.maxOutputTokens or budget.maxCostUsd) and was stopped",
  ),
  // Tool results the agent reads (in a `tool_result` delta), not run failures.
  UNKNOWN_TOOL: tool("the model asked for a tool that does not exist"),
  INVALID_ARGUMENTS: tool("the tool's arguments do not match its schema"),
  TOOL_FAILED: tool("the tool failed"),
  // The publish script refused an event; retrying it cannot help.
  INVALID_EVENT: publish("the event is not one readers would accept"),
  STALE_ATTEMPT: publish("a newer attempt of the run is publishing: stop this one"),
  // Made up by the SDK.
  BAD_RESPONSE: {
    retryable: false,
    message: "the server's response does not match the contract",
    channels: ["client"],
  },
} as const satisfies Record<string, Entry>;

function run(retryable: boolean, message: string) {
  return { retryable, message, channels: ["run"] } as const;
}

function publish(message: string) {
  return { retryable: false, message, channels: ["publish"] } as const;
}

function tool(message: string) {
  return { retryable: false, message, channels: ["tool"] } as const;
}

export type ErrorCode = keyof typeof SPECS;

/** The catalog, keyed by code: `ERRORS.NOT_READY.status === 503`. */
export const ERRORS = Object.fromEntries(
  Object.entries(SPECS).map(([code, spec]) => [code, { code, ...spec }]),
) as { readonly [C in ErrorCode]: (typeof SPECS)[C] & { readonly code: C } };

export const ERROR_CODES = Object.keys(SPECS) as readonly ErrorCode[];
export const ErrorCode = z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]);

/** The one error body every service returns: `{ error: { code, message, details? } }`. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Builds an error body from the catalog; `message` defaults to the catalog's. */
export function errorBody(spec: ErrorSpec, message: string = spec.message, details?: unknown): ErrorBody {
  return { error: { code: spec.code, message, ...(details === undefined ? {} : { details }) } };
}

/** Codes the gateway sends in-band as `event: error` about the stream itself (not a run's errors). */
export const STREAM_ERROR_CODES = {
  replayTruncated: ERRORS.REPLAY_TRUNCATED.code,
  replayFailed: ERRORS.REPLAY_FAILED.code,
  tokenExpired: ERRORS.TOKEN_EXPIRED.code,
  /** The thread was deleted (DELETE /v1/threads/:threadId): the stream ends after this event. */
  threadDeleted: ERRORS.THREAD_DELETED.code,
} as const;
