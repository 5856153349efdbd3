import type { CommonConfig } from "@threadline/config";
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";

/**
 * Paths never logged: tokens (header, query, cookies), secrets, provider keys and prompts. Request
 * URLs are logged with `access_token` removed by `redactUrl`.
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "authorization",
  "token",
  "accessToken",
  "access_token",
  "secret",
  "jwtSecret",
  "JWT_SECRET",
  "apiKey",
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "prompt",
  "input.prompt",
  "*.token",
  "*.apiKey",
  "*.secret",
  "*.prompt",
];

export interface LoggerConfig {
  service: string;
  level: string;
  /** Pretty, colored lines instead of JSON (development on a TTY). */
  pretty?: boolean;
}

/**
 * A pino logger with Threadline's redaction and request serializers. `destination` (default stdout)
 * lets tests capture the exact lines a service writes.
 */
export function createLogger(config: LoggerConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ""),
        reqId: req.id,
        remoteAddress: req.ip,
      }),
      err: pino.stdSerializers.err,
    },
  };
  if (config.pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" },
      },
    });
  }
  return destination ? pino(options, destination) : pino(options);
}

/** Removes credentials from a URL's query string (`access_token`, `token`). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:access_token|token)=)[^&#]*/gi, "$1[redacted]");
}

/**
 * A service's logger from its config: `LOG_LEVEL`, and `LOG_PRETTY` (unset: pretty on a terminal
 * outside production). `terminal` is the entry point's `process.stdout.isTTY`.
 */
export function createServiceLogger(
  service: string,
  config: Pick<CommonConfig, "logLevel" | "logPretty" | "env">,
  terminal: boolean,
): Logger {
  return createLogger({
    service,
    level: config.logLevel,
    pretty: config.logPretty ?? (terminal && config.env !== "production"),
  });
}
