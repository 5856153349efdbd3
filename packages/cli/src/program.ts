import { Command } from "commander";
import type { CliContext } from "./cli-context.js";
import { publishCommand } from "./commands/publish.js";
import { queuesCommand } from "./commands/queues.js";
import { runsCommand } from "./commands/runs.js";
import { tailCommand } from "./commands/tail.js";
import { tokenCommand } from "./commands/token.js";

/** The `threadline` command tree. Parsing errors throw CommanderError (exitOverride) instead of exiting. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("threadline")
    .description("Operate Threadline: follow threads, publish events, mint tokens, manage runs, watch queues")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `
Environment:
  THREADLINE_API_URL      API base URL (default http://127.0.0.1:3000)
  THREADLINE_GATEWAY_URL  gateway base URL (default http://127.0.0.1:3001)
  THREADLINE_TOKEN        JWT to send; unset: an admin token is minted from JWT_SECRET
  JWT_SECRET              HS256 secret for minting (default: the development secret)
  REDIS_URL, REDIS_CLUSTER_NODES, QUEUE_PREFIX   for publish, queues and runs (recent);
                          REDIS_URL unset: redis://127.0.0.1:6379, whatever answers there`,
    );
  tailCommand(program, ctx);
  publishCommand(program, ctx);
  tokenCommand(program, ctx);
  runsCommand(program, ctx);
  queuesCommand(program, ctx);
  applyRecursively(program, (command) => {
    command.exitOverride();
    command.configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s) });
  });
  return program;
}

function applyRecursively(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const sub of command.commands) applyRecursively(sub, apply);
}
