import { AUTH_ERRORS } from "@threadline/auth";
import { HttpError } from "@threadline/server";

/** One issue with a request: `path` names the field (`input.prompt`, `limit`), `message` says what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The API's error catalog: stable codes, messages that say what to do. */
export const API_ERRORS = {
  invalidBody: "INVALID_BODY",
  invalidParams: "INVALID_PARAMS",
  invalidQuery: "INVALID_QUERY",
  runNotFound: "RUN_NOT_FOUND",
  runFinished: "RUN_FINISHED",
  unavailable: "UNAVAILABLE",
} as const;

/** 400 naming every failing field, e.g. `invalid body: input.prompt: expected string, received undefined`. */
export function invalid(code: string, where: string, issues: FieldIssue[]): HttpError {
  const summary = issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ");
  return new HttpError(400, code, `invalid ${where}: ${summary}`, { issues });
}

export function forbidden(threadId: string): HttpError {
  return new HttpError(403, AUTH_ERRORS.forbidden.code, `${AUTH_ERRORS.forbidden.message} (${threadId})`);
}

export function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, undefined, { "www-authenticate": "Bearer" });
}

export function runNotFound(threadId: string, runId: string): HttpError {
  return new HttpError(404, API_ERRORS.runNotFound, `no run ${runId} in thread ${threadId}`);
}
