import { ERRORS } from "@threadline/protocol";

const {
  TOKEN_MISSING,
  TOKEN_INVALID,
  TOKEN_EXPIRED,
  TOKEN_NOT_YET_VALID,
  FORBIDDEN,
  TOKEN_IN_QUERY_REFUSED,
} = ERRORS;

/** Why a token was refused; `code` (from the catalog) goes into error bodies and metrics labels. */
export const AUTH_ERRORS = {
  missing: { code: TOKEN_MISSING.code, message: TOKEN_MISSING.message },
  tooLarge: { code: TOKEN_INVALID.code, message: "token is too large" },
  malformed: { code: TOKEN_INVALID.code, message: "token is not a valid JWT" },
  signature: { code: TOKEN_INVALID.code, message: "token signature or algorithm is not accepted" },
  expired: { code: TOKEN_EXPIRED.code, message: "token has expired: get a new one and reconnect" },
  notBefore: { code: TOKEN_NOT_YET_VALID.code, message: "token is not valid yet (nbf)" },
  audience: { code: TOKEN_INVALID.code, message: "token audience is not accepted" },
  issuer: { code: TOKEN_INVALID.code, message: "token issuer is not accepted" },
  claims: { code: TOKEN_INVALID.code, message: "token claims are invalid" },
  critical: {
    code: TOKEN_INVALID.code,
    message: "token header has `crit` (extensions this server does not understand, RFC 7515 §4.1.11)",
  },
  forbidden: { code: FORBIDDEN.code, message: "this token may not read this thread" },
  queryToken: { code: TOKEN_IN_QUERY_REFUSED.code, message: TOKEN_IN_QUERY_REFUSED.message },
} as const;

export type AuthFailureReason = keyof typeof AUTH_ERRORS;
