import { AUTH_ERRORS, type Claims, extractToken, type Verifier } from "@threadline/auth";
import { ERRORS } from "@threadline/protocol";
import { HttpError, httpError } from "@threadline/server";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The HttpOnly cookie `POST /admin/login` sets; it holds the admin JWT itself, for at most 15 minutes. */
const ADMIN_COOKIE = "threadline_admin";
const ADMIN_COOKIE_MAX_AGE_S = 900;

export type AdminTokenSource = "header" | "cookie";

/**
 * The admin claims of a request: a Bearer header, else the session cookie. 401 without a valid token, 403
 * for a valid token without `role: "admin"`.
 */
export function requireAdmin(
  verifier: Verifier,
  request: FastifyRequest,
): { claims: Claims; from: AdminTokenSource } {
  const header = extractToken({ authorization: request.headers.authorization, queryToken: undefined });
  if (header.from === "malformed")
    throw unauthorized(AUTH_ERRORS.malformed.code, "the Authorization header must be `Bearer <jwt>`");
  const cookie = readCookie(request.headers.cookie, ADMIN_COOKIE);
  const token = header.from === "header" ? header.token : cookie;
  if (!token) {
    throw unauthorized(
      AUTH_ERRORS.missing.code,
      "admin token required: send Authorization: Bearer <admin jwt>, or log in at /admin/login",
    );
  }
  const result = verifier.verify(token);
  if (!result.ok) throw unauthorized(result.code, `${result.message}; log in again at /admin/login`);
  if (result.claims.role !== "admin") {
    throw httpError(ERRORS.ADMIN_REQUIRED, 'the queue dashboard needs a token with role "admin"');
  }
  return { claims: result.claims, from: header.from === "header" ? "header" : "cookie" };
}

/** Sets the session cookie: HttpOnly, SameSite=Strict (no cross-site requests carry it), Secure over https. */
export function setAdminCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  exp: number,
  now: number,
): number {
  const maxAge = Math.max(0, Math.min(ADMIN_COOKIE_MAX_AGE_S, exp - Math.floor(now / 1000)));
  reply.header("set-cookie", cookieHeader(token, maxAge, request.protocol === "https"));
  return maxAge;
}

export function clearAdminCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header("set-cookie", cookieHeader("", 0, request.protocol === "https"));
}

function cookieHeader(value: string, maxAge: number, secure: boolean): string {
  return `${ADMIN_COOKIE}=${value}; Max-Age=${maxAge}; Path=/admin; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, undefined, { "www-authenticate": "Bearer" });
}
