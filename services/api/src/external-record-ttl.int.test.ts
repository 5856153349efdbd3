import { createRunRecords, keys } from "@threadline/redis";
import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({
    LOG_TTL_SECONDS: "1",
    EXTERNAL_RUN_CHECK_MS: "50",
    EXTERNAL_RUN_TIMEOUT_MS: "10000",
  });
});
afterAll(async () => {
  await h?.close();
});

describe("an external run's record outlives LOG_TTL_SECONDS while the run is live (real Redis)", {
  timeout: 30_000,
}, () => {
  it("a producer streaming tokens for 3× the TTL never sees its run answer 404, and the run ends with its record", async () => {
    const created = await h.app.inject({
      method: "POST",
      url: `/v1/threads/${uniqueId("ext")}/runs`,
      headers: { authorization: h.bearer("owner"), "content-type": "application/json" },
      payload: JSON.stringify({ runner: "external" }),
    });
    expect(created.statusCode).toBe(202);
    const run = created.json() as {
      threadId: string;
      runId: string;
      publishUrl: string;
      publishToken: string;
    };
    const publish = (body: unknown) =>
      h.app.inject({
        method: "POST",
        url: run.publishUrl,
        headers: { authorization: `Bearer ${run.publishToken}`, "content-type": "application/json" },
        payload: JSON.stringify(body),
      });
    const runs = createRunRecords(h.redis);
    // Tokens renew the log, meta and publish state; only `running` and `done` move the record.
    expect((await publish({ type: "status", content: { state: "running" } })).statusCode).toBe(200);
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      expect((await publish({ type: "token", content: `t${i} ` })).statusCode).toBe(200);
      seen.push((await runs.get(run.threadId, run.runId))?.status ?? "404");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.filter((s) => s !== "running")).toEqual([]);
    expect((await publish({ type: "done", content: { finishReason: "stop" } })).statusCode).toBe(200);
    expect(await runs.get(run.threadId, run.runId)).toMatchObject({ status: "completed" });
    // Still expiring with the thread: renewed, never made permanent.
    expect(await h.redis.ttl(keys.run(run.threadId, run.runId))).toBeGreaterThan(0);
  });
});
