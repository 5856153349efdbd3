/**
 * Publish-script throughput from one process: one at a time (await each) and pipelined (a window of
 * in-flight publishes over 64 threads), through the real atomic XADD+PUBLISH script.
 */
import { closeRedisClient, createEventPublisher, createRedisClient } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";

export interface PublishRates {
  sequentialPerSec: number;
  pipelinedPerSec: number;
  window: number;
  events: number;
}

export async function measurePublishRates(
  redisUrl: string,
  events: number,
  window: number,
): Promise<PublishRates> {
  const client = createRedisClient({ url: redisUrl }, { name: "bench-publish" });
  const publisher = createEventPublisher(client, { logMaxLen: 10_000, logTtlSeconds: 300 });
  const draft = { type: "token" as const, content: "lorem " };

  const sequential = async (n: number) => {
    const threadId = uniqueId("bench");
    const start = performance.now();
    for (let i = 0; i < n; i++) await publisher.publish({ threadId, runId: "r" }, draft);
    return n / ((performance.now() - start) / 1000);
  };
  const pipelined = async (n: number) => {
    const threadIds = Array.from({ length: 64 }, () => uniqueId("bench"));
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < n) {
          const i = next++;
          await publisher.publish({ threadId: threadIds[i % threadIds.length]!, runId: "r" }, draft);
        }
      }),
    );
    return n / ((performance.now() - start) / 1000);
  };
  try {
    await sequential(2_000); // warm up: script load, JIT
    const sequentialPerSec = Math.round(await sequential(Math.min(events, 20_000)));
    const pipelinedPerSec = Math.round(await pipelined(events));
    return { sequentialPerSec, pipelinedPerSec, window, events };
  } finally {
    await closeRedisClient(client);
  }
}
