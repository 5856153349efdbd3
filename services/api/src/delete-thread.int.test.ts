import { createRunLifecycle, DELETED_RUN_FENCE_SECONDS, keys, PublishRefusedError } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

// DELETE /v1/threads/:threadId against a real API and Redis (no worker: the run stays queued). The
// running case, with a real worker, is in tests/e2e/archive-replay.test.ts.
let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(async () => {
  await h?.close();
});

async function createRun(threadId: string): Promise<string> {
  const res = await h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs`,
    headers: { authorization: h.bearer("alice") },
    payload: { input: { prompt: "hello" } },
  });
  expect(res.statusCode).toBe(202);
  return res.json().runId as string;
}

async function threadKeys(threadId: string): Promise<string[]> {
  const [, found] = await h.redis.scan("0", "MATCH", `{thread:${threadId}}*`, "COUNT", 100_000);
  return found.sort();
}

describe("DELETE /v1/threads/:threadId with runs that have not ended", () => {
  it("removes a queued run's job and fences the run: a worker that takes it later is refused and re-creates nothing", async () => {
    const threadId = uniqueId("th");
    const finished = await createRun(threadId);
    const lifecycle = createRunLifecycle(h.redis, { logMaxLen: 1_000, logTtlSeconds: 60 });
    await lifecycle.complete({ threadId, runId: finished }, { finishReason: "stop" }, 1);
    const queued = await createRun(threadId);
    expect(await h.queue.queue.getJob(queued)).toBeDefined();

    const res = await h.app.inject({
      method: "DELETE",
      url: `/v1/threads/${threadId}`,
      headers: { authorization: h.bearer("alice") },
    });
    expect(res.statusCode).toBe(204);

    expect(await h.queue.queue.getJob(queued)).toBeUndefined();
    // All that is left: the queued run's fence, expiring on its own; the finished run left nothing.
    const fence = keys.runPublishState(threadId, queued);
    expect(await threadKeys(threadId)).toEqual([fence]);
    expect(await h.redis.hgetall(fence)).toEqual({ done: "deleted" });
    const ttl = await h.redis.ttl(fence);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(DELETED_RUN_FENCE_SECONDS);

    // A worker that had taken the job a moment before: its first transition is refused, nothing written.
    const refused = await lifecycle
      .running({ threadId, runId: queued }, 1, new Date().toISOString())
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PublishRefusedError);
    expect(refused).toMatchObject({ code: "RUN_ENDED" });
    expect(await threadKeys(threadId)).toEqual([fence]);
  });
});
