import { ERRORS } from "@threadline/protocol";
import { APICallError, InvalidResponseDataError, JSONParseError, TypeValidationError } from "ai";
import { AgentError } from "../types.js";
import { parseRetryAfter } from "./retry-after.js";

/** Codes of the `error` events the LLM agents publish. */
export const PROVIDER_ERRORS = {
  authFailed: ERRORS.PROVIDER_AUTH_FAILED.code,
  forbidden: ERRORS.PROVIDER_FORBIDDEN.code,
  badRequest: ERRORS.PROVIDER_BAD_REQUEST.code,
  rateLimited: ERRORS.PROVIDER_RATE_LIMITED.code,
  unavailable: ERRORS.PROVIDER_UNAVAILABLE.code,
  unreachable: ERRORS.PROVIDER_UNREACHABLE.code,
  disconnected: ERRORS.PROVIDER_DISCONNECTED.code,
  streamError: ERRORS.PROVIDER_STREAM_ERROR.code,
  badResponse: ERRORS.PROVIDER_BAD_RESPONSE.code,
} as const;

/** Who failed, so messages can say which variable to check. */
export interface ErrorSource {
  provider: string;
  keyVar: string;
  modelVar: string;
  baseUrlVar: string;
}

/** Error types a provider may put in a mid-stream `error` event that no retry can fix. */
const PERMANENT_TYPES = new Set([
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "request_too_large",
  "billing_error",
  "insufficient_quota",
]);

/**
 * Maps what an AI SDK call or stream failed with to an honest `AgentError`: 400/401/403/404 are
 * permanent; 408/409/429/5xx, transport failures, malformed chunks and most mid-stream errors are
 * retryable (with the provider's retry-after). Anything else is rethrown (the worker reports it).
 */
export function toAgentError(error: unknown, source: ErrorSource): AgentError {
  if (error instanceof AgentError) return error;
  const { provider } = source;
  if (APICallError.isInstance(error)) {
    if (error.statusCode === undefined) {
      return new AgentError(
        PROVIDER_ERRORS.unreachable,
        `${provider} is unreachable (${describeCause(error)}); check ${source.baseUrlVar} and the network`,
        true,
      );
    }
    // A 2xx that failed while its body streamed: the connection broke mid-answer.
    if (error.statusCode < 300) return disconnected(provider, describeCause(error));
    const headers = new Headers(error.responseHeaders ?? {});
    return fromStatus(error.statusCode, providerMessage(error), headers, source);
  }
  // openai-compatible reports a stream that stopped before its finish_reason this way.
  if (InvalidResponseDataError.isInstance(error) && /ended without/i.test(error.message)) {
    return disconnected(provider, error.message);
  }
  if (
    JSONParseError.isInstance(error) ||
    TypeValidationError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error)
  ) {
    return new AgentError(
      PROVIDER_ERRORS.badResponse,
      `${provider} sent a malformed stream: ${error.message}`,
      true,
    );
  }
  if (error instanceof TypeError || hasNetworkCode(error)) {
    return disconnected(provider, describeCause(error as Error));
  }
  // A provider's own mid-stream error event (e.g. Anthropic `overloaded_error`), passed on as data.
  const event = error instanceof Error ? undefined : streamErrorBody(error);
  if (event) {
    const retryable = !(event.type && PERMANENT_TYPES.has(event.type));
    return new AgentError(
      PROVIDER_ERRORS.streamError,
      `${provider} reported an error mid-stream${event.type ? ` (${event.type})` : ""}: ${event.message}`,
      retryable,
    );
  }
  throw error;
}

/** The stream ended (or broke) before the provider said the message was complete. */
export function disconnected(provider: string, why: string): AgentError {
  return new AgentError(
    PROVIDER_ERRORS.disconnected,
    `${provider} stream ended early (${why}); retrying may help`,
    true,
  );
}

function fromStatus(status: number, detail: string, headers: Headers, source: ErrorSource) {
  const { provider } = source;
  const said = `${provider} answered ${status}: ${detail}`;
  if (status === 401) {
    return new AgentError(PROVIDER_ERRORS.authFailed, `${said}; check ${source.keyVar}`, false);
  }
  if (status === 403) {
    return new AgentError(
      PROVIDER_ERRORS.forbidden,
      `${said}; the key in ${source.keyVar} may not use this model or endpoint`,
      false,
    );
  }
  if (status === 429) {
    return new AgentError(
      PROVIDER_ERRORS.rateLimited,
      `${said}; retrying later`,
      true,
      parseRetryAfter(headers),
    );
  }
  if (status >= 500 || status === 408 || status === 409) {
    return new AgentError(
      PROVIDER_ERRORS.unavailable,
      `${said}; retrying later`,
      true,
      parseRetryAfter(headers),
    );
  }
  return new AgentError(
    PROVIDER_ERRORS.badRequest,
    `${said}; check the input, the model (${source.modelVar} or input.model) and ${source.baseUrlVar}`,
    false,
  );
}

/** The provider's own message: Anthropic `{type:"error",error:{message}}`, OpenAI `{error:{message}}`. */
function providerMessage(error: APICallError): string {
  const message =
    streamErrorBody(error.data)?.message ?? streamErrorBody(parseJson(error.responseBody))?.message;
  return message ?? error.message;
}

/** `{type?, message}` from an error body or event, wherever the provider nested it. */
function streamErrorBody(value: unknown): { type: string | undefined; message: string } | undefined {
  if (!value || typeof value !== "object") return undefined;
  const outer = value as { error?: unknown; type?: unknown; message?: unknown };
  const inner = outer.error && typeof outer.error === "object" ? (outer.error as typeof outer) : outer;
  if (typeof inner.message !== "string") return undefined;
  return { type: typeof inner.type === "string" ? inner.type : undefined, message: inner.message };
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function hasNetworkCode(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return [e?.code, e?.cause?.code].some(
    (code) => typeof code === "string" && /^(ECONN|EPIPE|ETIMEDOUT|UND_ERR)/.test(code),
  );
}

function describeCause(error: Error): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  const parts = [error.message, cause?.code ?? cause?.message].filter(Boolean);
  return parts.join(": ");
}
