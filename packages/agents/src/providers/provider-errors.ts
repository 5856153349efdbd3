import { AgentError } from "../types.js";
import { parseRetryAfter } from "./retry-after.js";

/** Codes of the `error` events the LLM agents publish. */
export const PROVIDER_ERRORS = {
  authFailed: "PROVIDER_AUTH_FAILED",
  forbidden: "PROVIDER_FORBIDDEN",
  badRequest: "PROVIDER_BAD_REQUEST",
  rateLimited: "PROVIDER_RATE_LIMITED",
  unavailable: "PROVIDER_UNAVAILABLE",
  unreachable: "PROVIDER_UNREACHABLE",
  disconnected: "PROVIDER_DISCONNECTED",
  streamError: "PROVIDER_STREAM_ERROR",
  badResponse: "PROVIDER_BAD_RESPONSE",
} as const;

// biome-ignore lint/suspicious/noExplicitAny: SDK error classes have differing constructor signatures.
type ErrorClass = abstract new (...args: any[]) => Error;

/** Who failed, for messages that say what to do, and the SDK's error classes. */
export interface ProviderErrorSource {
  provider: string;
  keyVar: string;
  modelVar: string;
  baseUrlVar: string;
  classes: { APIError: ErrorClass; APIConnectionError: ErrorClass };
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
 * Maps whatever an SDK call or stream threw to an honest `AgentError`: 400/401/403/404 are permanent,
 * 408/409/429/5xx and transport failures are retryable (with the provider's retry-after).
 */
export function toAgentError(error: unknown, source: ProviderErrorSource): AgentError {
  if (error instanceof AgentError) return error;
  const { provider } = source;
  if (error instanceof source.classes.APIConnectionError) {
    return new AgentError(
      PROVIDER_ERRORS.unreachable,
      `${provider} is unreachable (${describeCause(error)}); check ${source.baseUrlVar} and the network`,
      true,
    );
  }
  if (error instanceof source.classes.APIError) {
    const { status, headers } = error as Error & { status?: number; headers?: Headers };
    const detail = providerMessage(error);
    const type = providerType(error);
    if (status === undefined) {
      const retryable = !(type && PERMANENT_TYPES.has(type));
      return new AgentError(
        PROVIDER_ERRORS.streamError,
        `${provider} reported an error mid-stream${type ? ` (${type})` : ""}: ${detail}`,
        retryable,
        retryable ? parseRetryAfter(headers) : undefined,
      );
    }
    return fromStatus(status, detail, headers, source);
  }
  if (error instanceof SyntaxError) {
    return new AgentError(
      PROVIDER_ERRORS.badResponse,
      `${provider} sent a malformed stream: ${error.message}`,
      true,
    );
  }
  if (error instanceof TypeError || hasNetworkCode(error)) {
    return disconnected(provider, describeCause(error as Error));
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

function fromStatus(
  status: number,
  detail: string,
  headers: Headers | undefined,
  source: ProviderErrorSource,
) {
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

function body(error: Error): Record<string, unknown> | undefined {
  const raw = (error as { error?: unknown }).error;
  if (!raw || typeof raw !== "object") return undefined;
  const nested = (raw as { error?: unknown }).error;
  // Anthropic keeps the whole `{type:"error", error:{…}}` body; OpenAI keeps the inner `error` object.
  return (nested && typeof nested === "object" ? nested : raw) as Record<string, unknown>;
}

function providerMessage(error: Error): string {
  const message = body(error)?.message;
  return typeof message === "string" && message ? message : error.message;
}

function providerType(error: Error): string | undefined {
  const type = body(error)?.type ?? (error as { type?: unknown }).type;
  return typeof type === "string" ? type : undefined;
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
