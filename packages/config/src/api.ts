import type { CommonConfig } from "./common.js";
import { loadWith } from "./common.js";
import { bool, int, optionalText, trustedProxies } from "./fields.js";
import type { Env } from "./load-config.js";
import { buildProvidersConfig, type ProvidersConfig, providersEnv } from "./providers.js";

export interface ApiConfig extends CommonConfig {
  bodyLimitBytes: number;
  /** Public base URL of the gateway, used to build `eventsUrl`; relative URLs when unset. */
  gatewayPublicUrl?: string;
  runAttempts: number;
  runBackoffMs: number;
  rateLimitPerMinute: number;
  adminQueueActions: boolean;
  /** Serve `/metrics` (METRICS, default on). */
  metrics: boolean;
  /**
   * The same provider env as the worker: the API never calls a provider, it only needs to know which
   * LLM agents are configured to refuse runs of unavailable ones before they are queued.
   */
  providers: ProvidersConfig;
  /** An external run whose producer publishes nothing for this long fails with RUNNER_LOST. */
  externalRunTimeoutMs: number;
  /** How often each API instance looks for silent external runs. */
  externalRunCheckMs: number;
  /** Lifetime of the publish token an external run is created with. */
  publishTokenTtlSeconds: number;
  /**
   * TRUST_PROXY: the proxies (addresses, CIDRs, loopback/linklocal/uniquelocal) whose X-Forwarded-For and
   * X-Forwarded-Proto are believed; empty = none, so a client cannot pick its own address or scheme.
   */
  trustProxy: string[];
  /** Refused `POST /admin/login`s per client address per window before it gets 429 until the window ends. */
  adminLoginMaxFailures: number;
  adminLoginWindowMs: number;
}

export function loadApiConfig(env: Env): ApiConfig {
  const { common, parsed } = loadWith(env, 3000, {
    BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024, 1024 * 1024),
    GATEWAY_PUBLIC_URL: optionalText(),
    RUN_ATTEMPTS: int(1, 100, 3),
    RUN_BACKOFF_MS: int(0, 3_600_000, 1_000),
    RATE_LIMIT_RUNS_PER_MINUTE: int(0, 1_000_000, 600),
    ADMIN_QUEUE_ACTIONS: bool(false),
    EXTERNAL_RUN_TIMEOUT_MS: int(100, 86_400_000, 60_000),
    EXTERNAL_RUN_CHECK_MS: int(0, 3_600_000, 0),
    PUBLISH_TOKEN_TTL_SECONDS: int(10, 7 * 86_400, 3_600),
    TRUST_PROXY: trustedProxies(),
    ADMIN_LOGIN_MAX_FAILURES: int(1, 1_000_000, 10),
    ADMIN_LOGIN_WINDOW_SECONDS: int(1, 86_400, 300),
    ...providersEnv,
  });
  return {
    ...common,
    bodyLimitBytes: parsed.BODY_LIMIT_BYTES,
    ...(parsed.GATEWAY_PUBLIC_URL ? { gatewayPublicUrl: parsed.GATEWAY_PUBLIC_URL.replace(/\/$/, "") } : {}),
    runAttempts: parsed.RUN_ATTEMPTS,
    runBackoffMs: parsed.RUN_BACKOFF_MS,
    rateLimitPerMinute: parsed.RATE_LIMIT_RUNS_PER_MINUTE,
    adminQueueActions: parsed.ADMIN_QUEUE_ACTIONS,
    metrics: parsed.METRICS,
    providers: buildProvidersConfig(parsed),
    externalRunTimeoutMs: parsed.EXTERNAL_RUN_TIMEOUT_MS,
    // 0 = automatic: a quarter of the timeout, at most 5 s (a silent run fails within ~1.25× it).
    externalRunCheckMs:
      parsed.EXTERNAL_RUN_CHECK_MS ||
      Math.min(5_000, Math.max(50, Math.floor(parsed.EXTERNAL_RUN_TIMEOUT_MS / 4))),
    publishTokenTtlSeconds: parsed.PUBLISH_TOKEN_TTL_SECONDS,
    trustProxy: parsed.TRUST_PROXY,
    adminLoginMaxFailures: parsed.ADMIN_LOGIN_MAX_FAILURES,
    adminLoginWindowMs: parsed.ADMIN_LOGIN_WINDOW_SECONDS * 1000,
  };
}
