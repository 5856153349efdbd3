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

export interface PublishTokenOptions {
  threadId: string;
  runId: string;
  ttlSeconds: number;
  audience?: string;
  issuer?: string;
}

/**
 * Signs the token of an external run's producer: `sub` = `run:<runId>`, claim `tl_publish` =
 * `{ threadId, runId }` (see PublishGrant). It may publish that run's events and nothing else.
 */
export function signPublishToken(secret: string, options: PublishTokenOptions): string {
  const payload = {
    sub: `run:${options.runId}`,
    tl_publish: { threadId: options.threadId, runId: options.runId },
  };
  return jwt.sign(payload, secret, {
    algorithm: "HS256",
    expiresIn: options.ttlSeconds,
    ...(options.audience ? { audience: options.audience } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
  });
}
