import { z } from "zod";
import { bool, hostPorts, int, list, oneOf, optionalBool, optionalText, port, text, url } from "./fields.js";
import { ConfigError, type Env, parseEnv } from "./load-config.js";

/** The secret `pnpm start` and tests use; refused when NODE_ENV=production. */
export const DEV_JWT_SECRET = "threadline-dev-secret-do-not-use-in-production";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const commonEnv = {
  NODE_ENV: text("development"),
  HOST: text("127.0.0.1"),
  LOG_LEVEL: oneOf(LOG_LEVELS, "info"),
  LOG_PRETTY: optionalBool(),
  REQUEST_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  REDIS_URL: url("redis://127.0.0.1:6379", ["redis:", "rediss:"]),
  REDIS_CLUSTER_NODES: hostPorts(),
  REDIS_COMMAND_RETRIES: int(1, 1_000, 20),
  QUEUE_PREFIX: text("{tl}"),
  JWT_SECRET: optionalText(),
  JWT_PUBLIC_KEY: optionalText(),
  JWT_AUDIENCE: optionalText(),
  JWT_ISSUER: optionalText(),
  JWT_CLOCK_TOLERANCE_S: int(0, 5, 5),
  LOG_MAXLEN: int(1, 10_000_000, 10_000),
  LOG_TTL_SECONDS: int(1, 365 * 24 * 3600, 24 * 3600),
  MAX_EVENT_BYTES: int(1024, 16 * 1024 * 1024, 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 10_000),
  CORS_ORIGINS: list(),
  METRICS: bool(true),
  DATABASE_URL: optionalText(),
  ARCHIVE: oneOf(["auto", "on", "off"], "auto"),
  ARCHIVE_RETENTION_DAYS: int(0, 36_500, 0),
  ARCHIVE_MARK_MS: int(10, 10_000, 100),
};

export interface RedisConfig {
  url: string;
  /** Set when REDIS_CLUSTER_NODES is: switches every connection to Redis Cluster. */
  clusterNodes?: { host: string; port: number }[];
  /** `REDIS_COMMAND_RETRIES`: reconnects a plain command waits out in an outage before it fails. */
  commandRetries: number;
  queuePrefix: string;
  logMaxLen: number;
  logTtlSeconds: number;
}

/** The PostgreSQL archive behind Redis; absent when ARCHIVE=off (or auto with no DATABASE_URL). */
export interface ArchiveConfig {
  databaseUrl: string;
  /** Threads idle longer are purged from the archive; 0 keeps everything. */
  retentionDays: number;
  /** Publishers mark a thread for the archiver at most this often. */
  markIntervalMs: number;
}

export interface JwtConfig {
  secret?: string;
  publicKey?: string;
  audience?: string;
  issuer?: string;
  clockToleranceSeconds: number;
}

export interface CommonConfig {
  env: string;
  host: string;
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `LOG_PRETTY`: pino-pretty lines; unset means "on a terminal, outside production". */
  logPretty?: boolean;
  /** `REQUEST_TIMEOUT_MS`: a connection that sends no complete request within it is closed. */
  requestTimeoutMs: number;
  redis: RedisConfig;
  jwt: JwtConfig;
  maxEventBytes: number;
  shutdownTimeoutMs: number;
  corsOrigins: string[];
  archive?: ArchiveConfig;
}

type CommonEnv = z.output<z.ZodObject<typeof commonEnv>>;

/** Parses the common variables plus `extra`, then applies the rules that span variables. */
export function loadWith<E extends z.ZodRawShape>(env: Env, defaultPort: number, extra: E) {
  const schema = z.object({ ...commonEnv, PORT: port(defaultPort), ...extra });
  const parsed = parseEnv(schema, env) as CommonEnv & { PORT: number } & z.output<z.ZodObject<E>>;
  const problems: string[] = [];
  const secret = parsed.JWT_SECRET ?? (parsed.JWT_PUBLIC_KEY ? undefined : DEV_JWT_SECRET);
  if (parsed.JWT_SECRET && parsed.JWT_PUBLIC_KEY) {
    problems.push("JWT_SECRET: set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256), not both");
  }
  if (parsed.NODE_ENV === "production" && secret === DEV_JWT_SECRET) {
    problems.push(
      "JWT_SECRET: the development secret is refused when NODE_ENV=production; set a real secret",
    );
  }
  if (secret !== undefined && secret.length < 16) {
    problems.push(`JWT_SECRET: expected at least 16 characters, got ${secret.length}`);
  }
  if (parsed.REDIS_CLUSTER_NODES && !/^\{[^{}]+\}/.test(parsed.QUEUE_PREFIX)) {
    problems.push(
      `QUEUE_PREFIX: expected a hash tag like {tl} in cluster mode, got "${parsed.QUEUE_PREFIX}"`,
    );
  }
  if (parsed.DATABASE_URL && !/^postgres(ql)?:\/\//.test(parsed.DATABASE_URL)) {
    problems.push(`DATABASE_URL: expected a postgres:// URL, got "${parsed.DATABASE_URL.slice(0, 60)}"`);
  }
  if (parsed.ARCHIVE === "on" && !parsed.DATABASE_URL) {
    problems.push("ARCHIVE: on needs DATABASE_URL (a postgres:// URL); set it, or ARCHIVE=off");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const archiveOn = parsed.ARCHIVE !== "off" && parsed.DATABASE_URL !== undefined;

  const common: CommonConfig = {
    env: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    ...(parsed.LOG_PRETTY === undefined ? {} : { logPretty: parsed.LOG_PRETTY }),
    requestTimeoutMs: parsed.REQUEST_TIMEOUT_MS,
    redis: {
      url: parsed.REDIS_URL,
      ...(parsed.REDIS_CLUSTER_NODES ? { clusterNodes: parsed.REDIS_CLUSTER_NODES } : {}),
      commandRetries: parsed.REDIS_COMMAND_RETRIES,
      queuePrefix: parsed.QUEUE_PREFIX,
      logMaxLen: parsed.LOG_MAXLEN,
      logTtlSeconds: parsed.LOG_TTL_SECONDS,
    },
    jwt: {
      ...(secret ? { secret } : {}),
      ...(parsed.JWT_PUBLIC_KEY ? { publicKey: parsed.JWT_PUBLIC_KEY.replace(/\\n/g, "\n") } : {}),
      ...(parsed.JWT_AUDIENCE ? { audience: parsed.JWT_AUDIENCE } : {}),
      ...(parsed.JWT_ISSUER ? { issuer: parsed.JWT_ISSUER } : {}),
      clockToleranceSeconds: parsed.JWT_CLOCK_TOLERANCE_S,
    },
    maxEventBytes: parsed.MAX_EVENT_BYTES,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    corsOrigins: parsed.CORS_ORIGINS,
    ...(archiveOn && parsed.DATABASE_URL
      ? {
          archive: {
            databaseUrl: parsed.DATABASE_URL,
            retentionDays: parsed.ARCHIVE_RETENTION_DAYS,
            markIntervalMs: parsed.ARCHIVE_MARK_MS,
          },
        }
      : {}),
  };
  return { common, parsed };
}
