import { ConfigError } from "@threadline/config";
import { CommanderError } from "commander";
import type { CliContext } from "./cli-context.js";
import { CliError, EXIT } from "./cli-error.js";
import { buildProgram } from "./program.js";

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      return error.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (error instanceof CliError) {
      ctx.stderr(`threadline: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      ctx.stderr(`threadline: invalid environment: ${error.lines.join("; ")}\n`);
      return EXIT.usage;
    }
    ctx.stderr(`threadline: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
}
