import { openSse, uniqueId } from "@threadline/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNS_PER_MINUTE, type SecurityStack } from "./support/security-stack.js";

/** RATE_LIMIT_RUNS_PER_MINUTE: per subject, counted in Redis, so two API instances share it. */
export function describeRateLimit(getStack: () => SecurityStack): void {
  describe("run rate limit across two API instances (Redis-backed)", () => {
    let s: SecurityStack;
    beforeAll(() => {
      s = getStack();
    });

    it(`allows ${RUNS_PER_MINUTE} runs per minute per subject in total over both APIs, then 429 with Retry-After and our JSON error`, async () => {
      const sub = uniqueId("rl");
      const headers = {
        authorization: `Bearer ${s.token({ sub })}`,
        "content-type": "application/json",
      };
      const body = JSON.stringify({
        agent: "demo",
        input: { prompt: "hi", tokensPerSecond: 0, maxTokens: 3 },
      });
      const post = (url: string) =>
        fetch(`${url}/v1/threads/${uniqueId("rl")}/runs`, { method: "POST", headers, body });
      const statuses: number[] = [];
      for (let i = 0; i < RUNS_PER_MINUTE; i++)
        statuses.push((await post(i % 2 ? s.api2.url : s.api.url)).status);
      expect(statuses).toEqual(Array(RUNS_PER_MINUTE).fill(202));
      for (const url of [s.api.url, s.api2.url]) {
        const refused = await post(url);
        expect(refused.status).toBe(429);
        const retryAfter = Number(refused.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
          code: "RATE_LIMITED",
          message: expect.stringContaining(`at most ${RUNS_PER_MINUTE} per minute`),
        });
      }
      // Another subject has its own budget.
      const other = await fetch(`${s.api.url}/v1/threads/${uniqueId("rl")}/runs`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${s.token({ sub: uniqueId("rl-other") })}` },
        body,
      });
      expect(other.status).toBe(202);

      // The limited subject still streams, reads, and health checks are never limited.
      const threadId = uniqueId("rl-read");
      const conns = await Promise.all(
        Array.from({ length: 10 }, () =>
          openSse(`${s.gateway.url}/v1/threads/${threadId}/events`, {
            headers: { authorization: `Bearer ${s.token({ sub, threads: ["*"] })}` },
          }),
        ),
      );
      for (const c of conns) c.close();
      expect(conns.map((c) => c.status)).toEqual(Array(10).fill(200));
      const reads = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${s.api.url}/v1/threads/${threadId}/events?after=0`, {
            headers: { authorization: `Bearer ${s.token({ sub, threads: ["*"] })}` },
          }).then((r) => r.status),
        ),
      );
      expect(reads).toEqual(Array(10).fill(200));
      const health = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          fetch(`${[s.api, s.api2, s.gateway][i % 3]!.url}/${i % 2 ? "healthz" : "readyz"}`).then(
            (r) => r.status,
          ),
        ),
      );
      expect(health).toEqual(Array(30).fill(200));
    });
  });
}
