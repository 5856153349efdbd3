import type { ThreadEvent } from "@threadline/protocol";
import { readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { brief, jobData, newPrefix, openQueue, useWorkerRedis, watchThread } from "./test-support/harness.js";
import { startWorkerProcess, type WorkerProcess } from "./test-support/worker-process.js";

const t = useWorkerRedis();

const tokens = (events: ThreadEvent[]) => events.filter((e) => e.type === "token").length;

async function superseded(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  return Number(/^threadline_worker_jobs_total\{outcome="superseded"\} (\d+)/m.exec(text)?.[1] ?? "NaN");
}

describe("fencing a paused worker (real worker processes, SIGSTOP/SIGCONT, real Redis)", {
  timeout: 60_000,
}, () => {
  it("a worker paused past its lock comes back refused: it stops its agent, one answer, nothing after done", async () => {
    const prefix = newPrefix();
    const env = {
      REDIS_URL: t.redis.url,
      QUEUE_PREFIX: prefix,
      STALLED_INTERVAL_MS: "500",
      LOCK_DURATION_MS: "1000",
      TOKEN_COALESCE_MS: "0",
    };
    const workers = await Promise.all(["worker-a", "worker-b"].map((n) => startWorkerProcess(n, env)));
    const queue = openQueue(t.redis.url, prefix);
    const paused: number[] = [];
    t.cleanups.push(
      async () => {
        for (const pid of paused) process.kill(pid, "SIGCONT");
        await Promise.all(workers.map((w) => w.stop(2_000)));
      },
      () => queue.close(),
    );
    const threadId = uniqueId("th");
    const live = await watchThread(t.redis.url, threadId);
    t.cleanups.push(() => live.close());

    const maxTokens = 80;
    const data = jobData(threadId, "demo", { prompt: "pause me", tokensPerSecond: 40, maxTokens });
    await queue.enqueue(data, { attempts: 3 });
    await live.until((e) => tokens(e) >= 5);
    const counts = await Promise.all(workers.map((w) => w.activeRuns()));
    const zombie = workers[counts.indexOf(1)];
    const successor = workers[counts.indexOf(0)];
    if (!zombie || !successor) throw new Error(`expected one worker to hold the run: ${counts}`);

    process.kill(zombie.pid, "SIGSTOP");
    paused.push(zombie.pid);
    // The successor takes the stalled job over and streams a while; then the zombie wakes up.
    await live.until((e) => {
      const retry = e.findIndex((x) => brief(x) === "status:retrying#2");
      return retry >= 0 && tokens(e.slice(retry)) >= 5;
    }, 15_000);
    process.kill(zombie.pid, "SIGCONT");
    paused.pop();

    await live.done(data.runId, 20_000);
    await expect.poll(() => superseded(zombie), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => zombie.activeRuns(), { timeout: 5_000 }).toBe(0);

    const page = await readLog(t.client, threadId, "0", 10_000);
    const logged = page.entries.map((e) => JSON.parse(e.json) as ThreadEvent);
    const kinds = logged.map(brief);
    const retry = kinds.indexOf("status:retrying#2");
    expect(kinds.filter((k) => k.startsWith("done"))).toEqual(["done:stop"]);
    expect(kinds.at(-1)).toBe("done:stop");
    // After the successor's first event, every event is the successor's: one full answer.
    expect(tokens(logged.slice(retry))).toBe(maxTokens);
    expect(logged.map((e) => e.seq)).toEqual(logged.map((_, i) => i + 1));
    expect(live.events.map((e) => e.id)).toEqual(page.entries.map((e) => e.id));
  });
});
