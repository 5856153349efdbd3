import type { ThreadEvent } from "@threadline/protocol";
import { readLog } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { jobData, newPrefix, openQueue, useWorkerRedis, watchThread } from "./test-support/harness.js";
import { startWorkerProcess } from "./test-support/worker-process.js";

const t = useWorkerRedis();

/** The id of the worker's command connection (the one that runs the publish script), if connected. */
async function publishConnectionId(): Promise<string | undefined> {
  const list = String(await t.client.call("CLIENT", "LIST", "TYPE", "normal"));
  return /(?:^|\s)id=(\d+)\s[^\n]*name=threadline-worker\s/m.exec(list)?.[1];
}

describe("exactly-once publishing (real worker process, real Redis)", { timeout: 60_000 }, () => {
  it("CLIENT KILL on the worker's connection mid-publish: ioredis re-sends, the log holds no duplicate", async () => {
    const prefix = newPrefix();
    const worker = await startWorkerProcess("worker-kill", {
      REDIS_URL: t.redis.url,
      QUEUE_PREFIX: prefix,
      TOKEN_COALESCE_MS: "0",
    });
    const queue = openQueue(t.redis.url, prefix);
    t.cleanups.push(
      () => worker.stop(2_000),
      () => queue.close(),
    );
    const threadId = uniqueId("th");
    const live = await watchThread(t.redis.url, threadId);
    t.cleanups.push(() => live.close());

    // Long enough for more than 5 kills on a fast publisher, and past the 4,096-event idempotency
    // window (keys are forgotten while ioredis may still re-send).
    const maxTokens = 8_000;
    const data = jobData(threadId, "demo", { prompt: "kill my connection", tokensPerSecond: 0, maxTokens });
    await queue.enqueue(data, { attempts: 1 });
    await live.until((e) => e.some((x) => x.type === "token"));
    // Kill the publishing connection again and again while tokens stream: each kill that lands
    // between the script running and its reply arriving makes ioredis re-send that publish.
    let kills = 0;
    while (kills < 40 && !live.events.some((e) => e.type === "done")) {
      // Counted before the round trip below: the run's last events (its done) may arrive during it,
      // and then there is nothing more to wait for.
      const before = live.events.length;
      const id = await publishConnectionId();
      if (id && before > 0) {
        await t.client.call("CLIENT", "KILL", "ID", id);
        kills++;
      }
      await expect.poll(() => live.events.length, { timeout: 10_000, interval: 5 }).toBeGreaterThan(before);
    }
    const events = await live.done(data.runId, 30_000);
    expect(kills).toBeGreaterThan(5);

    const page = await readLog(t.client, threadId, "0", 100_000);
    const logged = page.entries.map((e) => JSON.parse(e.json) as ThreadEvent);
    const tokens = logged.filter((e) => e.type === "token");
    const finished = logged.filter((e) => e.type === "done");
    expect(finished).toHaveLength(1);
    const output = (finished[0]?.content as { output?: { text: string } } | undefined)?.output?.text;
    expect(tokens).toHaveLength(maxTokens);
    expect(tokens.map((e) => e.content).join("")).toBe(output);
    expect(logged.map((e) => e.seq)).toEqual(logged.map((_, i) => i + 1));
    // The live channel carried each event once too.
    expect(events.map((e) => e.id)).toEqual(page.entries.map((e) => e.id));
  });
});
