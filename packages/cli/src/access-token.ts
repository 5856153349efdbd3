import { signDevToken } from "@threadline/auth";
import type { CliConfig } from "./cli-config.js";

/** Subject of the tokens the CLI mints for itself when THREADLINE_TOKEN is unset. */
export const CLI_SUBJECT = "threadline-cli";

/**
 * The token commands send: THREADLINE_TOKEN, else an admin dev token minted from JWT_SECRET (or the
 * development secret), so `threadline tail` works against `pnpm start` with no setup.
 */
export function accessToken(config: CliConfig): string {
  if (config.token) return config.token;
  return signDevToken(config.jwtSecret, {
    sub: CLI_SUBJECT,
    role: "admin",
    ttlSeconds: 3600,
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
  });
}
