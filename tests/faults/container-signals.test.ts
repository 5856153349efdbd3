import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { signDevToken } from "@threadline/auth";
import { createRunsQueue, type RunsQueue } from "@threadline/redis";
import {
  childEnv,
  freePort,
  getTestRedis,
  type ManagedProcess,
  openSse,
  startProcess,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staleBuilds, workspaceClosure } from "../../scripts/start/build-if-stale.js";
import { imageCommand } from "./support/image-cmd.js";

// `docker stop` sends SIGTERM to PID 1 of the container's PID namespace, waits, then SIGKILLs. Here,
// without Docker: each service runs the image's exact WORKDIR + CMD (read from the Dockerfile) as PID
// 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`, needs root), and gets SIGTERM.
// With pnpm as PID 1 the namespace died at once and took the service with it: streams were cut and
// the worker's running job stayed locked until the stall check retried it.
const REPO = join(import.meta.dirname, "..", "..");
const SECRET = "container-signal-test-secret-0123456789";
const run = promisify(execFile);

interface Container {
  process: ManagedProcess;
  url: string;
  /** The service's pid in the host's namespace (PID 1 inside its own). */
  pid1(): number;
}

let redis: TestRedis;
let queue: RunsQueue;
const prefix = `{${uniqueId("ct")}}`;
const containers: Container[] = [];

async function startContainer(
  service: "gateway" | "worker",
  env: Record<string, string>,
): Promise<Container> {
  const image = imageCommand(REPO, service);
  const port = await freePort();
  const proc = await startProcess({
    name: `${service} (PID 1)`,
    command: "unshare",
    args: ["--pid", "--fork", "--mount-proc", "--", ...image.cmd],
    cwd: join(REPO, image.workdir),
    env: {
      ...childEnv(),
      ...image.env,
      PORT: String(port),
      REDIS_URL: redis.url,
      JWT_SECRET: SECRET,
      ...env,
    },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    readyTimeoutMs: 60_000,
  });
  const container: Container = {
    process: proc,
    url: `http://127.0.0.1:${port}`,
    pid1() {
      // unshare --fork waits for its one child: the namespace's PID 1.
      const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim();
      const pid = Number(children.split(/\s+/)[0]);
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no PID 1 under unshare ${proc.pid}`);
      return pid;
    },
  };
  containers.push(container);
  return container;
}

beforeAll(async () => {
  // The image runs the built services (dist): build what is stale, as the Dockerfile's build stage does.
  const roots = ["services/gateway", "services/worker"];
  if (staleBuilds(REPO, workspaceClosure(REPO, roots)).length > 0) {
    const filters = roots.map((r) => `--filter=@threadline/${r.split("/")[1]}`);
    await run(
      join(REPO, "node_modules", ".bin", "turbo"),
      ["run", "build", "--output-logs=errors-only", ...filters],
      {
        cwd: REPO,
        env: { ...childEnv(), TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
      },
    );
  }
  redis = await getTestRedis();
  queue = createRunsQueue({ url: redis.url, queuePrefix: prefix }, { name: "container-test-queue" });
}, 400_000);

afterAll(async () => {
  await Promise.all(containers.map((c) => c.process.stop(2_000)));
  await queue?.close();
  await redis?.stop();
});

describe("the image's CMD as PID 1 of a PID namespace (docker stop, without Docker)", {
  timeout: 90_000,
}, () => {
  it("SIGTERM ends the gateway's streams cleanly and the worker hands its running job back within the grace", async () => {
    const gateway = await startContainer("gateway", {});
    const worker = await startContainer("worker", {
      QUEUE_PREFIX: prefix,
      WORKER_GRACE_MS: "1000",
      WORKER_CONCURRENCY: "1",
      TOKEN_COALESCE_MS: "0",
    });
    const threadId = uniqueId("pid1");
    const runId = uniqueId("run");
    const token = signDevToken(SECRET, { sub: "tester", threads: ["*"] });
    const stream = await openSse(`${gateway.url}/v1/threads/${threadId}/events?after=0`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(stream.status).toBe(200);
    // A slow demo run: it is still streaming when the signals come.
    await queue.enqueue(
      {
        runId,
        threadId,
        agent: "demo",
        input: { prompt: "stay a while", tokensPerSecond: 5, maxTokens: 500 },
        owner: "tester",
      },
      { attempts: 3 },
    );
    await expect
      .poll(() => stream.json().filter((e) => e.type === "token").length, { timeout: 30_000 })
      .toBeGreaterThan(0);

    process.kill(gateway.pid1(), "SIGTERM");
    process.kill(worker.pid1(), "SIGTERM");

    expect((await gateway.process.exited).code).toBe(0);
    await stream.ended;
    expect(gateway.process.output()).toContain("ended open streams for shutdown");
    expect(gateway.process.output()).toContain("shut down cleanly");

    expect((await worker.process.exited).code).toBe(0);
    expect(worker.process.output()).toContain("run handed back to the queue");
    // Back in the wait list for the next worker now, not locked until the stall check.
    expect(await queue.queue.getJobState(runId)).toBe("waiting");
  });
});
