/** Why a token was refused; `code` goes into `{ error: { code, message } }` bodies and metrics labels. */
export const AUTH_ERRORS = {
  missing: { code: "TOKEN_MISSING", message: "send a token: Authorization: Bearer <jwt>" },
  tooLarge: { code: "TOKEN_INVALID", message: "token is too large" },
  malformed: { code: "TOKEN_INVALID", message: "token is not a valid JWT" },
  signature: { code: "TOKEN_INVALID", message: "token signature or algorithm is not accepted" },
  expired: { code: "TOKEN_EXPIRED", message: "token has expired: get a new one and reconnect" },
  notBefore: { code: "TOKEN_NOT_YET_VALID", message: "token is not valid yet (nbf)" },
  audience: { code: "TOKEN_INVALID", message: "token audience is not accepted" },
  issuer: { code: "TOKEN_INVALID", message: "token issuer is not accepted" },
  claims: { code: "TOKEN_INVALID", message: "token claims are invalid" },
  forbidden: { code: "FORBIDDEN", message: "this token may not read this thread" },
  queryToken: {
    code: "TOKEN_IN_QUERY_REFUSED",
    message: "send the token in the Authorization header, not the URL",
  },
} as const;

export type AuthFailureReason = keyof typeof AUTH_ERRORS;
