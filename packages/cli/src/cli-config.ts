import {
  DEV_JWT_SECRET,
  type Env,
  hostPorts,
  int,
  optionalText,
  parseEnv,
  text,
  url,
} from "@threadline/config";
import { z } from "zod";

/** Everything the CLI reads from the environment (flags override some of it per command). */
export interface CliConfig {
  apiUrl: string;
  gatewayUrl: string;
  /** `THREADLINE_TOKEN`; when unset, commands mint a dev token from `jwtSecret`. */
  token?: string;
  jwtSecret: string;
  jwtAudience?: string;
  jwtIssuer?: string;
  redis: { url: string; clusterNodes?: { host: string; port: number }[] };
  /**
   * Which Redis that is and where the CLI got it, for output and errors: a CLI run without REDIS_URL
   * reads whatever answers on 127.0.0.1:6379, so commands say so instead of showing its data silently.
   */
  redisLabel: string;
  queuePrefix: string;
  /** Replay log cap and TTL for `publish` (same variables and defaults as the services). */
  logMaxLen: number;
  logTtlSeconds: number;
}

const CliEnv = z.object({
  THREADLINE_API_URL: url("http://127.0.0.1:3000", ["http:", "https:"]),
  THREADLINE_GATEWAY_URL: url("http://127.0.0.1:3001", ["http:", "https:"]),
  THREADLINE_TOKEN: optionalText(),
  JWT_SECRET: optionalText(),
  JWT_AUDIENCE: optionalText(),
  JWT_ISSUER: optionalText(),
  REDIS_URL: url("redis://127.0.0.1:6379", ["redis:", "rediss:"]),
  REDIS_CLUSTER_NODES: hostPorts(),
  QUEUE_PREFIX: text("{tl}"),
  LOG_MAXLEN: int(1, 10_000_000, 10_000),
  LOG_TTL_SECONDS: int(1, 365 * 24 * 3600, 24 * 3600),
});

/** Parses the CLI's environment; throws ConfigError (one line per bad variable). */
export function loadCliConfig(env: Env): CliConfig {
  const parsed = parseEnv(CliEnv, env);
  return {
    apiUrl: parsed.THREADLINE_API_URL.replace(/\/+$/, ""),
    gatewayUrl: parsed.THREADLINE_GATEWAY_URL.replace(/\/+$/, ""),
    ...(parsed.THREADLINE_TOKEN ? { token: parsed.THREADLINE_TOKEN } : {}),
    jwtSecret: parsed.JWT_SECRET ?? DEV_JWT_SECRET,
    ...(parsed.JWT_AUDIENCE ? { jwtAudience: parsed.JWT_AUDIENCE } : {}),
    ...(parsed.JWT_ISSUER ? { jwtIssuer: parsed.JWT_ISSUER } : {}),
    redis: {
      url: parsed.REDIS_URL,
      ...(parsed.REDIS_CLUSTER_NODES ? { clusterNodes: parsed.REDIS_CLUSTER_NODES } : {}),
    },
    redisLabel: parsed.REDIS_CLUSTER_NODES
      ? `the Redis Cluster at ${parsed.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(",")} (REDIS_CLUSTER_NODES)`
      : env.REDIS_URL?.trim()
        ? `${redactedUrl(parsed.REDIS_URL)} (REDIS_URL)`
        : `${parsed.REDIS_URL} (the default: REDIS_URL is unset)`,
    queuePrefix: parsed.QUEUE_PREFIX,
    logMaxLen: parsed.LOG_MAXLEN,
    logTtlSeconds: parsed.LOG_TTL_SECONDS,
  };
}

/** A Redis URL without its password. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
