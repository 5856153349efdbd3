import { AUTH_ERRORS } from "@threadline/auth";
import { ERRORS, type ErrorSpec } from "@threadline/protocol";
import { HttpError, httpError } from "@threadline/server";

/** One issue with a request: `path` names the field (`input.prompt`, `limit`), `message` says what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** A catalog entry that answers 400 (INVALID_BODY, INVALID_PARAMS, …). */
export type BadRequestSpec = ErrorSpec & { status: 400 };

/** 400 naming every failing field, e.g. `invalid body: input.prompt: expected string, received undefined`. */
export function invalid(spec: BadRequestSpec, where: string, issues: FieldIssue[]): HttpError {
  const summary = issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
  return httpError(spec, `invalid ${where}: ${summary}`, { issues });
}

export function forbidden(threadId: string): HttpError {
  return httpError(ERRORS.FORBIDDEN, `${AUTH_ERRORS.forbidden.message} (${threadId})`);
}

export function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, undefined, { "www-authenticate": "Bearer" });
}

export function runNotFound(threadId: string, runId: string): HttpError {
  return httpError(ERRORS.RUN_NOT_FOUND, `no run ${runId} in thread ${threadId}`);
}
