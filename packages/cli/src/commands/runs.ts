import { RunRequest } from "@threadline/protocol";
import type { Command } from "commander";
import { accessToken } from "../access-token.js";
import type { CliContext } from "../cli-context.js";
import { usageError } from "../cli-error.js";
import { connectOrFail } from "../connect-redis.js";
import { httpRequest } from "../http-request.js";
import { validThreadId } from "../valid-id.js";

interface CreateFlags {
  agent?: string;
  input?: string;
  prompt?: string;
  metadata?: string;
  maxOutputTokens?: string;
  maxCostUsd?: string;
  wait?: string;
}

/**
 * `threadline runs [recent]`: the newest runs of every thread, from the runs queue in Redis;
 * `threadline runs create|get|cancel|list`: the runs API, printed as JSON.
 */
export function runsCommand(program: Command, ctx: CliContext): void {
  const runs = program
    .command("runs")
    .description(
      "list recent runs (the default), or start, read, cancel and list a thread's runs through the API",
    );
  const call = (method: "GET" | "POST", path: string, body?: unknown) => {
    const config = ctx.config();
    return httpRequest({
      service: "API",
      urlVariable: "THREADLINE_API_URL",
      method,
      url: `${config.apiUrl}${path}`,
      token: accessToken(config),
      ...(body !== undefined ? { body } : {}),
      signal: ctx.signal,
    });
  };
  const print = (value: unknown) => ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);

  runs
    .command("recent", { isDefault: true })
    .description(
      "the newest runs of every thread (the default): running, waiting, delayed, and lately finished, from the runs queue in Redis",
    )
    .option("--limit <n>", "how many (1-1000)", "20")
    .option("--prefix <prefix>", "BullMQ prefix (default: QUEUE_PREFIX or {tl})")
    .option("--json", "one JSON object per run")
    .action(async (flags: { limit: string; prefix?: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw usageError(`--limit: expected 1-1000, got "${flags.limit}"`);
      const config = ctx.config();
      const prefix = flags.prefix ?? config.queuePrefix;
      // Loaded on use: BullMQ takes a while to import, and the API commands don't need it.
      const { closeRedisClient, createRedisClient } = await import("@threadline/redis");
      const { recentRuns } = await import("../recent-runs.js");
      const client = createRedisClient(config.redis, { name: "threadline-cli-runs", lazyConnect: true });
      try {
        await connectOrFail(client, config.redisLabel);
        const rows = await recentRuns(client, prefix, limit);
        if (flags.json) {
          for (const row of rows)
            ctx.stdout(`${JSON.stringify({ ...row, createdAt: new Date(row.createdAt).toISOString() })}\n`);
          return;
        }
        const where = `the queue ${prefix}:runs of ${config.redisLabel}`;
        if (rows.length === 0) return ctx.stdout(`no runs in ${where}\n`);
        ctx.stdout(`newest runs in ${where}\n`);
        for (const r of rows) {
          ctx.stdout(
            `${r.state.padEnd(11)}  ${r.threadId ?? "?"}  ${r.runId}  ${r.agent ?? "?"}  owner=${r.owner ?? "?"}  ${new Date(r.createdAt).toISOString()}  attempts=${r.attempts}\n`,
          );
        }
      } finally {
        await closeRedisClient(client);
      }
    });

  runs
    .command("create")
    .description("start a run of an agent on a thread (202: queued)")
    .argument("<thread>", "thread id")
    .option("--agent <name>", "agent to run (default: the API's default, demo)")
    .option("--prompt <text>", 'shorthand for --input \'{"prompt":"…"}\'')
    .option("--input <json>", "the agent's input object as JSON")
    .option("--metadata <json>", "metadata object as JSON, stored with the run")
    .option("--max-output-tokens <n>", "budget: stop the run after this many output tokens")
    .option("--max-cost-usd <usd>", "budget: stop the run once it has cost this much (priced models)")
    .option(
      "--wait <seconds>",
      "wait up to this long (0-60) for the run to end and print it (200) or as it is (202)",
    )
    .action(async (thread: string, flags: CreateFlags) => {
      validThreadId(thread);
      if (flags.input !== undefined && flags.prompt !== undefined)
        throw usageError("give --input or --prompt, not both");
      const input =
        flags.input !== undefined ? parseJson("--input", flags.input) : { prompt: flags.prompt ?? "hello" };
      const request = RunRequest.safeParse({
        ...(flags.agent ? { agent: flags.agent } : {}),
        input,
        ...(flags.metadata !== undefined ? { metadata: parseJson("--metadata", flags.metadata) } : {}),
        ...(flags.maxOutputTokens !== undefined || flags.maxCostUsd !== undefined
          ? {
              budget: {
                ...(flags.maxOutputTokens !== undefined
                  ? { maxOutputTokens: Number(flags.maxOutputTokens) }
                  : {}),
                ...(flags.maxCostUsd !== undefined ? { maxCostUsd: Number(flags.maxCostUsd) } : {}),
              },
            }
          : {}),
      });
      if (!request.success) {
        throw usageError(
          `invalid run request: ${request.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
        );
      }
      if (flags.wait !== undefined && !/^\d{1,2}$/.test(flags.wait))
        throw usageError("--wait takes whole seconds, 0-60");
      const query = flags.wait === undefined ? "" : `?wait=${flags.wait}`;
      print(await call("POST", `/v1/threads/${thread}/runs${query}`, request.data));
    });

  runs
    .command("get")
    .description("show one run: status, timestamps, attempts, output or error")
    .argument("<thread>", "thread id")
    .argument("<run>", "run id")
    .action(async (thread: string, run: string) => {
      print(await call("GET", `/v1/threads/${validThreadId(thread)}/runs/${validThreadId(run, "run id")}`));
    });

  runs
    .command("cancel")
    .description("cancel a run (the worker aborts the agent)")
    .argument("<thread>", "thread id")
    .argument("<run>", "run id")
    .action(async (thread: string, run: string) => {
      const path = `/v1/threads/${validThreadId(thread)}/runs/${validThreadId(run, "run id")}/cancel`;
      print((await call("POST", path)) ?? { cancelled: true });
    });

  runs
    .command("list")
    .description("list a thread's runs, newest first")
    .argument("<thread>", "thread id")
    .option("--limit <n>", "how many (1-100)", "20")
    .option("--json", "print the API's JSON instead of a table")
    .action(async (thread: string, flags: { limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw usageError(`--limit: expected 1-100, got "${flags.limit}"`);
      const body = (await call("GET", `/v1/threads/${validThreadId(thread)}/runs?limit=${limit}`)) as {
        runs?: { runId: string; status: string; agent?: string; createdAt: string; attempts?: number }[];
      };
      if (flags.json) return print(body);
      const rows = body.runs ?? [];
      if (rows.length === 0) return ctx.stdout(`no runs on thread ${thread}\n`);
      for (const r of rows) {
        ctx.stdout(
          `${r.runId}  ${r.status.padEnd(10)}  ${r.agent ?? ""}  ${r.createdAt}  attempts=${r.attempts ?? 0}\n`,
        );
      }
    });
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`${flag}: not JSON (${(error as Error).message})`);
  }
}
