import { createVerifier } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import {
  closeRedisClient,
  createRedisClient,
  createRunsQueue,
  keys,
  type RedisClient,
  readLog,
} from "@threadline/redis";
import { getTestRedis, type TestRedis, uniqueId } from "@threadline/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCliConfig } from "./cli-config.js";
import { runCli } from "./run-cli.js";
import { runCliProcess, runCommand } from "./test-support/run-cli-process.js";

let redis: TestRedis;
let client: RedisClient;

beforeAll(async () => {
  redis = await getTestRedis();
  client = createRedisClient({ url: redis.url }, { name: "cli-test" });
});
afterAll(async () => {
  await closeRedisClient(client);
  await redis.stop();
});

// Every test runs the CLI as child processes compiled through tsx: 5-10 s apiece, 20 s and more on a loaded
// 2-core machine, so the budget is per child (the --help test alone starts three).
const CHILDREN_TIMEOUT_MS = 120_000;

describe("threadline publish", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("rejects invalid JSON with one clear line and exit 2", async () => {
    const result = await runCliProcess(["publish", "demo", "{not json"], { env: { REDIS_URL: redis.url } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^threadline: invalid event: not JSON \(.+\); pass one event like/);
  });

  it("rejects a valid JSON that is not an event (exit 2, says which field)", async () => {
    const result = await runCliProcess(
      ["publish", "demo", '{"type":"status","content":{"state":"dancing"}}'],
      {
        env: { REDIS_URL: redis.url },
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/content does not match its type: state: /);
  });

  it("publishes from stdin through the atomic script: replayable, with the run's seq", async () => {
    const thread = uniqueId("cli-pub");
    const sub = createRedisClient({ url: redis.url }, { name: "cli-test-sub" });
    const live: string[] = [];
    await sub.subscribe(keys.threadChannel(thread));
    sub.on("message", (_channel, message) => live.push(message));
    try {
      const result = await runCliProcess(["publish", thread, "-", "--run", "run_1"], {
        env: { REDIS_URL: redis.url },
        stdin: '{"type":"token","content":"hello"}\n',
      });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const page = await readLog(client, thread, "0", 100);
      expect(page.entries).toHaveLength(1);
      const event = JSON.parse(page.entries[0]?.json ?? "{}");
      expect(event).toMatchObject({
        type: "token",
        content: "hello",
        threadId: thread,
        runId: "run_1",
        seq: 1,
      });
      expect(result.stdout).toContain(event.id);
      await expect.poll(() => live.length).toBe(1);
      expect(JSON.parse(live[0] ?? "{}")).toEqual(event);
    } finally {
      await closeRedisClient(sub);
    }
  });

  it("fails with one line and exit 1 when Redis is unreachable", async () => {
    const result = await runCliProcess(["publish", "demo", '{"type":"token","content":"x"}'], {
      env: { REDIS_URL: "redis://127.0.0.1:1" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^threadline: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*set REDIS_URL$/,
    );
  });
});

describe("threadline token", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("mints a token the services' verifier accepts, with the requested claims", async () => {
    const result = await runCliProcess([
      "token",
      "--sub",
      "alice",
      "--threads",
      "t1,t2",
      "--role",
      "admin",
      "--ttl",
      "15m",
    ]);
    expect(result.code).toBe(0);
    const verified = createVerifier({ secret: DEV_JWT_SECRET, clockToleranceSeconds: 5 }).verify(
      result.stdout.trim(),
    );
    if (!verified.ok) throw new Error(verified.message);
    expect(verified.claims).toMatchObject({ sub: "alice", threads: ["t1", "t2"], role: "admin" });
    const ttl = verified.claims.exp - Math.floor(Date.now() / 1000);
    expect(ttl).toBeGreaterThan(15 * 60 - 30);
    expect(ttl).toBeLessThanOrEqual(15 * 60);
  });

  it("signs with JWT_SECRET when set", async () => {
    const secret = "a-test-secret-of-some-length";
    const result = await runCliProcess(["token", "--sub", "bob"], { env: { JWT_SECRET: secret } });
    expect(createVerifier({ secret, clockToleranceSeconds: 5 }).verify(result.stdout.trim()).ok).toBe(true);
    expect(
      createVerifier({ secret: DEV_JWT_SECRET, clockToleranceSeconds: 5 }).verify(result.stdout.trim()).ok,
    ).toBe(false);
  });

  it("refuses a bad --ttl and a bad --role with exit 2", async () => {
    const [ttl, role] = await Promise.all([
      runCliProcess(["token", "--sub", "bob", "--ttl", "soon"]),
      runCliProcess(["token", "--sub", "bob", "--role", "root"]),
    ]);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/--ttl: expected a duration like 90s/);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/Allowed choices are admin/);
  });
});

describe("threadline queues", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("shows the counts per state of every queue under the prefix after enqueuing jobs", async () => {
    const prefix = `{${uniqueId("q")}}`;
    const runs = new Queue("runs", { connection: client, prefix });
    const other = new Queue("emails", { connection: client, prefix });
    try {
      await runs.addBulk([1, 2, 3].map((i) => ({ name: "run", data: { i } })));
      await runs.add("run", { i: 4 }, { delay: 60_000 });
      await other.add("send", {});
      const table = await runCliProcess(["queues"], { env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix } });
      expect(table.stderr).toBe("");
      expect(table.code).toBe(0);
      const rows = table.stdout.trim().split("\n");
      expect(rows[1]?.split(/\s+/)).toEqual([
        "QUEUE",
        "WAITING",
        "ACTIVE",
        "DELAYED",
        "PRIORITIZED",
        "FAILED",
        "COMPLETED",
        "ADDED/S",
        "DONE/S",
        "FAILED/S",
      ]);
      expect(rows[2]?.split(/\s+/)).toEqual([
        `${prefix}:emails`,
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "-",
        "-",
        "-",
      ]);
      expect(rows[3]?.split(/\s+/)).toEqual([`${prefix}:runs`, "3", "0", "1", "0", "0", "0", "-", "-", "-"]);

      const watch = await runCliProcess(
        ["queues", "--watch", "--json", "--interval", "200", "--count", "2"],
        {
          env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix },
        },
      );
      expect(watch.code).toBe(0);
      const samples = watch.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(samples).toHaveLength(4);
      expect(samples[3]).toMatchObject({
        queue: "runs",
        counts: { waiting: 3, delayed: 1 },
        rates: { added: 0 },
      });
    } finally {
      await runs.obliterate({ force: true });
      await other.obliterate({ force: true });
      await runs.close();
      await other.close();
    }
  });
});

describe("threadline queues --watch on a terminal", { timeout: 30_000 }, () => {
  it("redraws the table in place (cursor up over the previous table, clear below)", async () => {
    const prefix = `{${uniqueId("qtty")}}`;
    const runs = new Queue("runs", { connection: client, prefix });
    try {
      await runs.add("run", {});
      let out = "";
      const code = await runCli(["queues", "--watch", "--interval", "100", "--count", "3"], {
        config: () => loadCliConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix }),
        stdout: (text) => {
          out += text;
        },
        stderr: (text) => {
          throw new Error(text);
        },
        readStdin: async () => "",
        isTTY: true,
        signal: new AbortController().signal,
      });
      expect(code).toBe(0);
      const frames = out.split("\x1b[3F\x1b[J");
      expect(frames).toHaveLength(3);
      for (const frame of frames)
        expect(frame).toMatch(new RegExp(`\\{${prefix.slice(1, -1)}\\}:runs +1 +0 +0 +0 +0 +0 `));
      expect(frames[2]).toMatch(/ 0\.0 +0\.0 +0\.0\n$/);
    } finally {
      await runs.obliterate({ force: true });
      await runs.close();
    }
  });
});

describe("threadline --help", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("answers on every command", async () => {
    // Independent processes: run side by side (each is mostly tsx starting up).
    const commands = [["--help"], ["tail", "--help"], ["runs", "create", "--help"]];
    const results = await Promise.all(commands.map((args) => runCliProcess(args)));
    for (const [i, result] of results.entries()) {
      expect(result.code, commands[i]!.join(" ")).toBe(0);
      expect(result.stdout).toMatch(/^Usage: threadline/);
    }
  });
});

describe("which Redis the Redis commands read", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("queues names the Redis in the table's title, and where it came from (REDIS_URL)", async () => {
    const prefix = `{${uniqueId("qname")}}`;
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix };
    const [table, json] = await Promise.all([
      runCliProcess(["queues"], { env }),
      runCliProcess(["queues", "--json"], { env }),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toContain(`queues under ${prefix} on ${redis.url} (REDIS_URL) at `);
    // Log lines and JSON keep one record per line: the note goes to stderr.
    expect(json.code).toBe(0);
    expect(json.stderr).toBe(`threadline: queues of ${redis.url} (REDIS_URL)\n`);
  });

  it("without REDIS_URL says it reads the default 127.0.0.1:6379, whether or not something answers there", async () => {
    // Whatever this machine runs on 6379, the output must say which Redis it was and how to pick another.
    const result = await runCliProcess(["queues", "--prefix", `{${uniqueId("nothing")}}`]);
    expect(`${result.stdout}${result.stderr}`).toContain(
      "redis://127.0.0.1:6379 (the default: REDIS_URL is unset)",
    );
    if (result.code === 0)
      expect(result.stdout).toMatch(
        /^queues under \{nothing-.+\} on redis:\/\/127\.0\.0\.1:6379 \(the default/,
      );
    else
      expect(result.stderr).toMatch(
        /^threadline: cannot reach Redis at redis:\/\/127\.0\.0\.1:6379 \(the default: REDIS_URL is unset\): .*set REDIS_URL\n$/,
      );
  });

  it("publish says which Redis it published to", async () => {
    const result = await runCliProcess(
      ["publish", uniqueId("cli-pub-where"), '{"type":"token","content":"x"}'],
      {
        env: { REDIS_URL: redis.url },
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(` of ${redis.url} (REDIS_URL)`);
  });
});

describe("threadline runs (no subcommand)", { timeout: CHILDREN_TIMEOUT_MS }, () => {
  it("lists the newest runs of every thread from the runs queue, naming the Redis", async () => {
    const prefix = `{${uniqueId("qruns")}}`;
    const queue = createRunsQueue({ url: redis.url, queuePrefix: prefix }, { name: "cli-test-runs" });
    try {
      await queue.enqueue({
        runId: "run_old",
        threadId: "thread-a",
        agent: "demo",
        input: {},
        owner: "alice",
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await queue.enqueue({ runId: "run_new", threadId: "thread-b", agent: "echo", input: {}, owner: "bob" });
      const result = await runCliProcess(["runs"], { env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix } });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split("\n");
      expect(lines[0]).toBe(`newest runs in the queue ${prefix}:runs of ${redis.url} (REDIS_URL)`);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual([
        ["waiting", "thread-b", "run_new", "echo", "owner=bob"],
        ["waiting", "thread-a", "run_old", "demo", "owner=alice"],
      ]);

      const json = await runCliProcess(["runs", "--json", "--limit", "1"], {
        env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix },
      });
      expect(json.code).toBe(0);
      const rows = json.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(rows).toEqual([
        expect.objectContaining({ state: "waiting", runId: "run_new", threadId: "thread-b", attempts: 0 }),
      ]);

      const empty = await runCliProcess(["runs"], {
        env: { REDIS_URL: redis.url, QUEUE_PREFIX: `{${uniqueId("qempty")}}` },
      });
      expect(empty.code).toBe(0);
      expect(empty.stdout).toMatch(/^no runs in the queue \{qempty-.+\}:runs of redis:/);
    } finally {
      await queue.queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it("works the documented way, `pnpm threadline runs`, from the repository root", async () => {
    const prefix = `{${uniqueId("qpnpm")}}`;
    const result = await runCommand("pnpm", ["threadline", "runs"], {
      // No "update available" banner on stderr from pnpm itself.
      env: { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, npm_config_update_notifier: "false" },
      timeoutMs: 60_000,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`no runs in the queue ${prefix}:runs of ${redis.url} (REDIS_URL)\n`);
  });

  it("fails with one line and exit 1 when Redis is unreachable", async () => {
    const result = await runCliProcess(["runs"], { env: { REDIS_URL: "redis://127.0.0.1:1" } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^threadline: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*set REDIS_URL$/,
    );
  });
});
