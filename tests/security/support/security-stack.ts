import {
  type RedisServer,
  type ServiceInstance as Service,
  type ServiceKind,
  startRedisServer,
  startServiceProcess,
} from "@threadline/testing";
import { STACK_ENV } from "../../support/stack.js";
import { hs256, nowSeconds, rsaKeyPair } from "./forge-jwt.js";

/** Marker secrets: each must never appear in any service's output. */
export const SECRETS = {
  jwtSecret: "jwt-secret-MARKER-7f3a9c1e5b",
  anthropicKey: "sk-ant-MARKER-4d2e8b6a0c",
  openaiKey: "sk-openai-MARKER-9b1c3e5f7a",
} as const;
/** RATE_LIMIT_RUNS_PER_MINUTE of both APIs (per JWT subject). */
export const RUNS_PER_MINUTE = 3;
export const AUDIENCE = "threadline-tests";
export const ISSUER = "https://issuer.threadline.test";

export interface SecurityStack {
  redis: RedisServer;
  api: Service;
  /** A second API on the same Redis: the run rate limit is shared. */
  api2: Service;
  /** HS256 with JWT_SECRET, audience and issuer checked. */
  gateway: Service;
  /** RS256 with JWT_PUBLIC_KEY. */
  rsGateway: Service;
  worker: Service;
  rsa: { publicKey: string; privateKey: string };
  /** A valid HS256 token for the HS services. */
  token(claims?: Record<string, unknown>): string;
  /** Every service's captured stdout+stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** Every byte a service writes is kept (not just a tail), so a secret logged early is still caught. */
const KEEP_OUTPUT_CHARS = 64 * 1024 * 1024;

/**
 * Real gateway (HS256), gateway (RS256), API and worker processes on a Redis of their own, with
 * marker secrets and provider keys, audience/issuer checks on, debug logging (the most to leak).
 */
export async function startSecurityStack(extra: Record<string, string> = {}): Promise<SecurityStack> {
  const redis = await startRedisServer();
  const rsa = rsaKeyPair();
  const hsEnv = { JWT_SECRET: SECRETS.jwtSecret, JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER };
  const common = {
    ...STACK_ENV,
    REDIS_URL: redis.url,
    LOG_LEVEL: "debug",
    ANTHROPIC_API_KEY: SECRETS.anthropicKey,
    OPENAI_API_KEY: SECRETS.openaiKey,
    ...extra,
  };
  const plan: [ServiceKind, string, Record<string, string>][] = [
    ["gateway", "gateway-hs", hsEnv],
    ["gateway", "gateway-rs", { JWT_PUBLIC_KEY: rsa.publicKey }],
    ["api", "api", { ...hsEnv, RATE_LIMIT_RUNS_PER_MINUTE: String(RUNS_PER_MINUTE) }],
    ["api", "api-2", { ...hsEnv, RATE_LIMIT_RUNS_PER_MINUTE: String(RUNS_PER_MINUTE) }],
    ["worker", "worker", hsEnv],
  ];
  const settled = await Promise.allSettled(
    plan.map(([kind, name, env]) =>
      startServiceProcess({
        kind,
        name,
        env: { ...common, ...env },
        readyTimeoutMs: 90_000,
        keepOutputChars: KEEP_OUTPUT_CHARS,
      }),
    ),
  );
  const services = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => {
    await Promise.all(services.map((s) => s.process.stop(5_000)));
    await redis.dispose();
  };
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [gateway, rsGateway, api, api2, worker] = services as [Service, Service, Service, Service, Service];
  return {
    redis,
    api,
    api2,
    gateway,
    rsGateway,
    worker,
    rsa,
    token: (claims = {}) =>
      hs256(
        { sub: "alice", aud: AUDIENCE, iss: ISSUER, exp: nowSeconds() + 3600, ...claims },
        SECRETS.jwtSecret,
      ),
    output: () => services.map((s) => `----- ${s.name} -----\n${s.process.output()}`).join("\n"),
    stop,
  };
}
