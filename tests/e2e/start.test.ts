import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { childEnv, freePort } from "@threadline/testing";
import { afterEach, describe, expect, it } from "vitest";

// `pnpm start` as a new user runs it: the real script, real child processes, a real redis-server it
// starts itself, and the printed curl run by bash. `--source` runs the services with tsx, so no
// build is needed here (the build step itself is what `pnpm start` adds on top).
const REPO = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const started: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startScript(env: Record<string, string>, args: string[] = ["--source"]) {
  const child = spawn(
    process.execPath,
    ["--conditions=@threadline/source", "--import", "tsx", "scripts/start.ts", ...args],
    {
      cwd: REPO,
      env: { ...childEnv(), NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  started.push(child);
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitFor = async (text: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(text)) {
      if (child.exitCode !== null)
        throw new Error(`start exited (${child.exitCode}) before printing "${text}":\n${output}`);
      if (Date.now() > deadline) throw new Error(`"${text}" not printed within ${timeoutMs} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, waitFor, output: () => output };
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

describe("pnpm start", () => {
  it("without any Redis, says how to get one and exits 1", async () => {
    const deadPort = await freePort();
    const start = startScript({
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      REDIS_SERVER_BIN: "/nonexistent/redis-server",
    });
    expect(await start.exited).toBe(1);
    const text = start.output();
    expect(text).toContain(`nothing answers at redis://127.0.0.1:${deadPort}`);
    expect(text).toContain("apt-get install -y redis-server");
    expect(text).toContain("brew install redis");
    expect(text).toContain("docker compose up -d redis");
  }, 30_000);

  it("starts Redis and the three services, prints a curl that streams a demo run, and Ctrl-C stops everything", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "threadline-start-"));
    dirs.push(dataDir);
    const [redisPort, apiPort, gatewayPort, workerPort, deadPort, pgPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const start = startScript({
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
      LOCAL_REDIS_PORT: String(redisPort),
      THREADLINE_DATA_DIR: dataDir,
      API_PORT: String(apiPort),
      GATEWAY_PORT: String(gatewayPort),
      WORKER_PORT: String(workerPort),
      EMBEDDED_PG_PORT: String(pgPort),
    });
    await start.waitFor("Ctrl-C stops everything.", 120_000);
    const text = start.output();
    expect(text).toContain(`starting a local redis-server (data in ${join(dataDir, "redis")}, AOF on)`);
    expect(text).toContain(`API        http://127.0.0.1:${apiPort}`);
    expect(text).toContain(`Gateway    http://127.0.0.1:${gatewayPort}`);
    expect(text).toMatch(/\[api\] {5}\S+ info api listening/);
    // No DATABASE_URL: the archive is the embedded PostgreSQL, with its data under the data dir.
    expect(text).toContain(
      `Archive    embedded PostgreSQL (PGlite) at postgres://postgres@127.0.0.1:${pgPort}/postgres, data in ${join(dataDir, "pglite")}`,
    );

    const curl = text.split("\n").find((line) => line.startsWith("T=demo-"));
    expect(curl).toBeDefined();
    const { stdout } = await run("bash", ["-c", curl!], { timeout: 60_000 });
    const [created, ...stream] = stdout.split("\n");
    expect(JSON.parse(created!)).toMatchObject({
      status: "queued",
      eventsUrl: expect.stringContaining(`:${gatewayPort}/v1/threads/demo-`),
    });
    const sse = stream.join("\n");
    expect(sse).toContain("event: status");
    expect(sse).toContain('"kind":"tool_call"');
    expect(sse.match(/^event: token$/gm)?.length).toBeGreaterThanOrEqual(5);
    expect(sse.trimEnd().split("\n").at(-1)).toMatch(/^data: .*"type":"done".*"finishReason":"stop"/);
    // The finished run reaches the embedded archive: its record gets `archivedAt`.
    const token = text.split("\n")[text.split("\n").findIndex((l) => l.startsWith("Dev token")) + 1];
    const { runId, threadId } = JSON.parse(created!) as { runId: string; threadId: string };
    const readRun = async () => {
      const res = await fetch(`http://127.0.0.1:${apiPort}/v1/threads/${threadId}/runs/${runId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { archivedAt?: string }).archivedAt;
    };
    await expect.poll(readRun, { timeout: 15_000 }).toBeDefined();

    start.child.kill("SIGINT");
    expect(await start.exited).toBe(0);
    expect(start.output()).toContain("[start]   stopped");
    for (const port of [apiPort, gatewayPort, workerPort])
      expect(await answers(`http://127.0.0.1:${port}/healthz`)).toBe(false);
    expect(await answers(`http://127.0.0.1:${redisPort}`)).toBe(false);
    // AOF was on: the demo run's data is on disk for the next start.
    const redisDir = join(dataDir, "redis");
    expect(existsSync(redisDir) && readdirSync(redisDir).some((f) => f.startsWith("appendonly"))).toBe(true);
  }, 180_000);
});
