import jwt from "jsonwebtoken";

export interface DevTokenOptions {
  sub: string;
  threads?: string[];
  role?: "admin";
  /** Lifetime in seconds. Default one hour. */
  ttlSeconds?: number;
  audience?: string;
  issuer?: string;
}

/** Signs an HS256 token with the shared secret: for `pnpm start`, the CLI and tests. */
export function signDevToken(secret: string, options: DevTokenOptions): string {
  const payload: Record<string, unknown> = { sub: options.sub };
  if (options.threads) payload.threads = options.threads;
  if (options.role) payload.role = options.role;
  return jwt.sign(payload, secret, {
    algorithm: "HS256",
    expiresIn: options.ttlSeconds ?? 3600,
    ...(options.audience ? { audience: options.audience } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
  });
}
