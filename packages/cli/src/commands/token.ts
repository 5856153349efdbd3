import { signDevToken } from "@threadline/auth";
import { ThreadId } from "@threadline/protocol";
import { type Command, Option } from "commander";
import type { CliContext } from "../cli-context.js";
import { usageError } from "../cli-error.js";
import { parseTtl } from "../ttl.js";

interface TokenFlags {
  sub: string;
  threads?: string;
  role?: "admin";
  ttl: string;
}

/** `threadline token --sub …`: mints an HS256 token from JWT_SECRET (default: the development secret). */
export function tokenCommand(program: Command, ctx: CliContext): void {
  program
    .command("token")
    .description("mint a JWT signed with JWT_SECRET (default: the development secret) and print it")
    .requiredOption("--sub <subject>", "the token's subject (owner of the threads it creates)")
    .option("--threads <ids>", 'comma-separated thread ids it may read, or "*" for all')
    .addOption(
      new Option("--role <role>", "admin may read every thread and open /admin/queues").choices(["admin"]),
    )
    .option("--ttl <duration>", "lifetime: 90s, 15m, 1h, 7d", "1h")
    .addHelpText("after", "\nJWT_AUDIENCE and JWT_ISSUER, when set, are written into the token.")
    .action((flags: TokenFlags) => {
      const sub = flags.sub.trim();
      if (sub === "" || sub.length > 256) throw usageError("--sub: expected 1-256 characters");
      const threads = flags.threads === undefined ? undefined : parseThreads(flags.threads);
      const config = ctx.config();
      const token = signDevToken(config.jwtSecret, {
        sub,
        ...(threads ? { threads } : {}),
        ...(flags.role ? { role: flags.role } : {}),
        ttlSeconds: parseTtl(flags.ttl),
        ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
        ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
      });
      ctx.stdout(`${token}\n`);
    });
}

function parseThreads(value: string): string[] {
  const ids = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => id !== "*" && !ThreadId.safeParse(id).success);
  if (ids.length === 0 || bad.length > 0) {
    throw usageError(
      `--threads: expected comma-separated thread ids or "*", bad: ${bad.join(", ") || "(empty)"}`,
    );
  }
  return ids;
}
