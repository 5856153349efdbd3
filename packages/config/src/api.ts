import type { CommonConfig } from "./common.js";
import { loadWith } from "./common.js";
import { bool, int, optionalText } from "./fields.js";
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
}

export function loadApiConfig(env: Env): ApiConfig {
  const { common, parsed } = loadWith(env, 3000, {
    BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024, 1024 * 1024),
    GATEWAY_PUBLIC_URL: optionalText(),
    RUN_ATTEMPTS: int(1, 100, 3),
    RUN_BACKOFF_MS: int(0, 3_600_000, 1_000),
    RATE_LIMIT_RUNS_PER_MINUTE: int(0, 1_000_000, 600),
    ADMIN_QUEUE_ACTIONS: bool(false),
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
  };
}
