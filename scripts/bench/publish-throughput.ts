/**
 * Publish-script throughput from one process: events/s through the atomic XADD+PUBLISH script,
 * one at a time (await each) and pipelined (a window of in-flight publishes), measured side by side
 * against the same Redis. Usage: pnpm bench:publish [--events 50000] [--window 256]
 */
import { parseArgs } from "node:util";
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { getTestRedis, uniqueId } from "@threadline/testing";

const { values } = parseArgs({
  options: { events: { type: "string", default: "50000" }, window: { type: "string", default: "256" } },
});
const total = Number(values.events);
const window = Number(values.window);

const redis = await getTestRedis();
const client = createRedisClient({ url: redis.url }, { name: "bench-publish" });
const publisher = createEventPublisher(client, { logMaxLen: 10_000, logTtlSeconds: 300 });
const draft = { type: "token" as const, content: "lorem " };

async function sequential(n: number): Promise<number> {
  const threadId = uniqueId("bench");
  const start = performance.now();
  for (let i = 0; i < n; i++) await publisher.publish({ threadId, runId: "r" }, draft);
  return n / ((performance.now() - start) / 1000);
}

async function pipelined(n: number, inFlight: number): Promise<number> {
  const threadIds = Array.from({ length: 64 }, () => uniqueId("bench"));
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        await publisher.publish({ threadId: threadIds[i % threadIds.length]!, runId: "r" }, draft);
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

await sequential(2_000); // warm up: script load, JIT
const seqRate = await sequential(Math.min(total, 20_000));
const pipeRate = await pipelined(total, window);
console.log(`redis: ${redis.source} (${redis.url})`);
console.log(`| mode | events/s |`);
console.log(`|---|---|`);
console.log(`| one at a time (await each) | ${Math.round(seqRate)} |`);
console.log(`| pipelined (${window} in flight, 64 threads) | ${Math.round(pipeRate)} |`);
console.log(`pipelined / one-at-a-time = ${(pipeRate / seqRate).toFixed(1)}x`);
await closeRedisClient(client);
await redis.stop();
