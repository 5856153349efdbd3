import type { Command } from "commander";
import { accessToken } from "../access-token.js";
import type { CliContext } from "../cli-context.js";
import { createEventRenderer } from "../render-event.js";
import { tailStream } from "../tail-stream.js";
import { validThreadId } from "../valid-id.js";

interface TailFlags {
  fromStart?: boolean;
  json?: boolean;
  untilDone?: boolean;
}

/** `threadline tail <thread>`: follow a thread's events from the gateway. */
export function tailCommand(program: Command, ctx: CliContext): void {
  program
    .command("tail")
    .description("follow a thread's events live from the gateway (reconnects and resumes with Last-Event-ID)")
    .argument("<thread>", "thread id")
    .option("--from-start", "replay everything the thread's log retains first")
    .option("--json", "print one event per line as JSON (the gateway's data, unchanged)")
    .option("--until-done", "exit after the run's done or error event")
    .action(async (thread: string, flags: TailFlags) => {
      validThreadId(thread);
      const config = ctx.config();
      const renderer = createEventRenderer({ out: ctx.stdout, err: ctx.stderr });
      const stream = tailStream({
        gatewayUrl: config.gatewayUrl,
        threadId: thread,
        getToken: () => accessToken(config),
        fromStart: flags.fromStart === true,
        untilDone: flags.untilDone === true,
        signal: ctx.signal,
        onNotice: (notice) => {
          if (flags.json) {
            if (notice.type === "reconnecting") renderer.notice(notice);
            else if (notice.resumedAfter) renderer.notice(notice);
          } else renderer.notice(notice);
        },
      });
      for await (const message of stream) {
        if (flags.json) ctx.stdout(`${message.data}\n`);
        else renderer.event(message);
      }
      renderer.end();
    });
}
