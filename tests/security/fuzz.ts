import { openSse, testEnv, uniqueId } from "@threadline/testing";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityStack } from "./support/security-stack.js";

const RUNS = Number(testEnv().FUZZ_RUNS ?? 40);
const URL_CHARS = "abcXYZ019-_.~%=&?;+,:@!$'()*[]/".split("");
const urlish = fc.string({ unit: fc.constantFrom(...URL_CHARS), maxLength: 40 });
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
/** Anything a path segment can carry: unicode, empty, huge, or the ids' own alphabet. */
const idLike = fc.oneof(fc.string({ unit: "binary", maxLength: 50 }), urlish, fc.string({ maxLength: 300 }));

interface Answer {
  status: number;
  text: string;
}

/** Never a 5xx; every error is our JSON shape with a code. */
function expectSafe(where: string, r: Answer): void {
  expect(r.status, `${where}: ${r.text.slice(0, 200)}`).toBeLessThan(500);
  if (r.status >= 400) {
    const body = JSON.parse(r.text) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code, `${where}: ${r.text.slice(0, 200)}`).toBe("string");
    expect(typeof body.error?.message).toBe("string");
  }
}

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

async function stream(url: string, headers: Record<string, string>): Promise<Answer> {
  const conn = await openSse(url, { headers });
  conn.close();
  return { status: conn.status, text: conn.body };
}

/** fast-check over real HTTP and the real Redis channel: malformed input never breaks a service. */
export function describeFuzz(getStack: () => SecurityStack): void {
  describe("fuzzing ids, query strings, bodies and channel messages (fast-check)", () => {
    let s: SecurityStack;
    let redis: Redis;
    beforeAll(async () => {
      s = getStack();
      redis = new Redis(s.redis.url, { lazyConnect: true });
      await redis.connect();
    });
    afterAll(() => redis?.disconnect());
    const auth = () => ({ authorization: `Bearer ${s.token({ sub: "fuzzer" })}` });

    it("thread and run ids in paths", async () => {
      await fc.assert(
        fc.asyncProperty(idLike, idLike, async (thread, run) => {
          const t = encodeURIComponent(thread);
          const r = encodeURIComponent(run);
          expectSafe("gateway events", await stream(`${s.gateway.url}/v1/threads/${t}/events`, auth()));
          expectSafe("api run", await request(`${s.api.url}/v1/threads/${t}/runs/${r}`, { headers: auth() }));
          expectSafe(
            "api cancel",
            await request(`${s.api.url}/v1/threads/${t}/runs/${r}/cancel`, {
              method: "POST",
              headers: auth(),
            }),
          );
        }),
        { numRuns: RUNS },
      );
    }, 120_000);

    it("query strings and Last-Event-ID", async () => {
      const query = fc.oneof(
        fc
          .dictionary(fc.constantFrom("after", "until", "limit", "access_token", "x"), printable)
          .map((d) => new URLSearchParams(d).toString()),
        urlish,
      );
      await fc.assert(
        fc.asyncProperty(query, fc.option(printable), async (q, lastEventId) => {
          const headers = { ...auth(), ...(lastEventId ? { "last-event-id": lastEventId } : {}) };
          expectSafe("gateway", await stream(`${s.gateway.url}/v1/threads/fz/events?${q}`, headers));
          expectSafe(
            "api events",
            await request(`${s.api.url}/v1/threads/fz/events?${q}`, { headers: auth() }),
          );
        }),
        { numRuns: RUNS },
      );
    }, 120_000);

    it("JSON (and not-JSON) bodies on run creation", async () => {
      const body = fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc
          .record({
            agent: fc.oneof(fc.string(), fc.constant("demo")),
            input: fc.jsonValue(),
            metadata: fc.jsonValue(),
          })
          .map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 100 }),
      );
      await fc.assert(
        fc.asyncProperty(body, async (raw) => {
          const headers = {
            authorization: `Bearer ${s.token({ sub: uniqueId("fz") })}`,
            "content-type": "application/json",
          };
          const r = await request(`${s.api.url}/v1/threads/${uniqueId("fz")}/runs`, {
            method: "POST",
            headers,
            body: raw,
          });
          expectSafe("api create run", r);
        }),
        { numRuns: RUNS },
      );
    }, 120_000);

    it("junk published on a thread's channel never breaks the stream: the next valid event still arrives", async () => {
      const threadId = uniqueId("junk");
      const conn = await openSse(`${s.gateway.url}/v1/threads/${threadId}/events`, {
        headers: { authorization: `Bearer ${s.token({ threads: ["*"] })}` },
      });
      expect(conn.status).toBe(200);
      const junk = fc.oneof(
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc
          .record(
            {
              type: fc.oneof(fc.constantFrom("token", "status", "delta", "done", "error"), fc.string()),
              content: fc.jsonValue(),
              seq: fc.oneof(fc.integer(), fc.string()),
              id: fc.oneof(fc.string(), fc.constant("1-1")),
              threadId: fc.oneof(fc.string(), fc.constant(threadId)),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      );
      let n = 0;
      try {
        await fc.assert(
          fc.asyncProperty(junk, async (message) => {
            await redis.publish(`thread:${threadId}`, message);
            const marker = `sentinel-${++n}`;
            await redis.publish(`thread:${threadId}`, JSON.stringify({ type: "token", content: marker }));
            await conn.waitFor((c) => c.events.some((e) => e.data.includes(`"${marker}"`)), 10_000);
          }),
          { numRuns: RUNS * 2 },
        );
        expect(conn.closed).toBe(false);
        // The junk did reach the gateway and was dropped there (not filtered before it).
        const metrics = await (await fetch(`${s.gateway.url}/metrics`)).text();
        const dropped = /threadline_gateway_invalid_messages_dropped_total\{[^}]*\} (\d+)/g;
        const total = [...metrics.matchAll(dropped)].reduce((sum, m) => sum + Number(m[1]), 0);
        expect(total).toBeGreaterThan(RUNS);
      } finally {
        conn.close();
      }
    }, 120_000);

    it("afterwards every service is alive and healthy", async () => {
      for (const service of [s.gateway, s.rsGateway, s.api, s.worker]) {
        expect(service.process.alive(), `${service.name} alive`).toBe(true);
        expect((await fetch(`${service.url}/healthz`)).status, `${service.name} /healthz`).toBe(200);
      }
    });
  });
}
