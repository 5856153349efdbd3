import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import {
  closeRedisClient,
  createEventPublisher,
  createRedisClient,
  type RedisClient,
} from "@threadline/redis";
import {
  getTestRedis,
  type ServiceInstance,
  startServiceProcess,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";

// The browser's own EventSource, written the obvious way (docs/API.md, "Native EventSource"), against a
// real gateway process and a real Redis, in Debian's Chromium. Stream protocol 2 (issue 14 item 3).
const exec = promisify(execFile);
let redis: TestRedis;
let admin: RedisClient;
let gateway: ServiceInstance;
let browser: Browser;
let page: Page;

const token = (threads: string[], ttlSeconds = 3600) =>
  signDevToken(DEV_JWT_SECRET, { sub: "native-es", threads, ttlSeconds });

beforeAll(async () => {
  redis = await getTestRedis();
  admin = createRedisClient({ url: redis.url }, { name: "native-es-admin" });
  [gateway, browser] = await Promise.all([
    startServiceProcess({
      kind: "gateway",
      env: { REDIS_URL: redis.url, JWT_CLOCK_TOLERANCE_S: "0", LOG_LEVEL: "warn" },
    }),
    launchChromium(),
  ]);
}, 120_000);
afterEach(async () => {
  await page?.close();
});
afterAll(async () => {
  await browser?.close();
  await gateway?.process.stop(5_000);
  await closeRedisClient(admin);
  await redis?.stop();
}, 60_000);

/** A page on the gateway's origin (as behind nginx, where the app and /v1 share one origin). */
async function openPage(): Promise<Page> {
  page = await browser.newPage();
  await page.goto(`${gateway.url}/healthz`);
  return page;
}

const publisher = () => createEventPublisher(admin, { logMaxLen: 1000, logTtlSeconds: 600 });

describe("native EventSource in Chromium (protocol 2)", () => {
  it("?format=message: onmessage receives every event, script-published and redis-cli-published, with ids", async () => {
    const threadId = uniqueId("es-msg");
    const p = await openPage();
    const logged = await publisher().publish({ threadId, runId: "r" }, { type: "token", content: "one" });
    await p.evaluate(
      ({ url }) => {
        const w = globalThis as unknown as { got: unknown[]; es: EventSource };
        w.got = [];
        w.es = new EventSource(url);
        w.es.onmessage = (e) => w.got.push({ id: e.lastEventId, data: JSON.parse(e.data) });
      },
      { url: `/v1/threads/${threadId}/events?access_token=${token([threadId])}&after=0&format=message` },
    );
    const got = () =>
      p.evaluate(
        () =>
          (globalThis as unknown as { got: { id: string; data: { type: string; content: unknown } }[] }).got,
      );
    await expect.poll(async () => (await got()).length, { timeout: 15_000 }).toBe(1);
    const { port } = new URL(redis.url);
    await exec("redis-cli", [
      "-p",
      port,
      "publish",
      `thread:${threadId}`,
      '{"type":"token","content":"by hand"}',
    ]);
    await expect.poll(async () => (await got()).length).toBe(2);
    const done = await publisher().publish(
      { threadId, runId: "r" },
      { type: "done", content: { finishReason: "stop" } },
    );
    await expect.poll(async () => (await got()).length).toBe(3);
    const events = await got();
    expect(events.map((e) => [e.data.type, e.data.content])).toEqual([
      ["token", "one"],
      ["token", "by hand"],
      ["done", { finishReason: "stop" }],
    ]);
    // EventSource keeps the last id across an id-less event, as the spec says.
    expect(events.map((e) => e.id)).toEqual([logged.id, logged.id, done.id]);
  });

  it("named frames: stream-error and run-error reach their listeners; the error listener only ever sees the browser's own errors", async () => {
    const threadId = uniqueId("es-named");
    const p = await openPage();
    const p1 = publisher();
    await p1.publish({ threadId, runId: "r" }, { type: "token", content: "kept" });
    await p.evaluate(
      ({ url }) => {
        const w = globalThis as unknown as { seen: string[]; es: EventSource };
        w.seen = [];
        w.es = new EventSource(url);
        const record = (name: string) => (e: MessageEvent) => {
          const data = JSON.parse(e.data) as { type: string; content: { code?: string } | string };
          w.seen.push(
            `${name}:${data.type}:${typeof data.content === "string" ? data.content : data.content.code}`,
          );
        };
        for (const name of ["token", "run-error", "stream-error", "done"])
          w.es.addEventListener(name, record(name) as (e: Event) => void);
        // The obvious onerror of page code: it must never be handed a server event.
        w.es.onerror = (e) => w.seen.push(`onerror:${e instanceof MessageEvent ? "with data" : "no data"}`);
      },
      // A resume position the log never held: the first frame is the REPLAY_TRUNCATED notice.
      { url: `/v1/threads/${threadId}/events?access_token=${token([threadId])}&after=1-0` },
    );
    await p1.publish(
      { threadId, runId: "r" },
      { type: "error", content: { code: "AGENT_FAILED", message: "boom", retryable: false } },
    );
    const seen = () => p.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
    await expect
      .poll(seen, { timeout: 15_000 })
      .toEqual(["stream-error:error:REPLAY_TRUNCATED", "token:token:kept", "run-error:error:AGENT_FAILED"]);
  });

  it("after TOKEN_EXPIRED, page code closes, gets a fresh token and opens a new EventSource with ?after=: nothing lost, nothing twice", async () => {
    const threadId = uniqueId("es-expiry");
    const p = await openPage();
    const p1 = publisher();
    // The page asks for a fresh token; meanwhile (no stream open) one more event is published.
    await p.exposeFunction("freshToken", async () => {
      await p1.publish({ threadId, runId: "r" }, { type: "token", content: "while away" });
      return token([threadId]);
    });
    await p.evaluate(
      ({ base, first }) => {
        const w = globalThis as unknown as {
          got: string[];
          opened: number;
          freshToken(): Promise<string>;
        };
        w.got = [];
        w.opened = 0;
        let last = "";
        const connect = (accessToken: string, after: string) => {
          const es = new EventSource(`${base}?access_token=${accessToken}${after ? `&after=${after}` : ""}`);
          // The 200 arrived: the gateway is subscribed, nothing published from now on is missed.
          es.onopen = () => {
            w.opened += 1;
          };
          es.addEventListener("token", (event) => {
            const e = event as MessageEvent;
            w.got.push(JSON.parse(e.data).content);
            last = e.lastEventId;
          });
          es.addEventListener("stream-error", async (event) => {
            const e = event as MessageEvent;
            if (JSON.parse(e.data).content.code !== "TOKEN_EXPIRED") return;
            es.close(); // else the browser retries the expired URL token, gets 401 and gives up
            connect(await w.freshToken(), last);
          });
        };
        connect(first, "");
      },
      { base: `/v1/threads/${threadId}/events`, first: token([threadId], 4) },
    );
    const state = () =>
      p.evaluate(() => {
        const w = globalThis as unknown as { got: string[]; opened: number };
        return { got: [...w.got], opened: w.opened };
      });
    await expect.poll(async () => (await state()).opened, { timeout: 15_000 }).toBe(1);
    await p1.publish({ threadId, runId: "r" }, { type: "token", content: "before expiry" });
    await expect.poll(async () => (await state()).opened, { timeout: 15_000 }).toBe(2);
    await expect
      .poll(async () => (await state()).got, { timeout: 10_000 })
      .toEqual(["before expiry", "while away"]);
    await p1.publish({ threadId, runId: "r" }, { type: "token", content: "after" });
    await expect.poll(async () => (await state()).got).toEqual(["before expiry", "while away", "after"]);
  });

  it("401 and 403 reach page code as a plain error event with readyState CLOSED (no retry)", async () => {
    const threadId = uniqueId("es-denied");
    const p = await openPage();
    const outcome = (query: string) =>
      p.evaluate(
        (url) =>
          new Promise<{ state: number; data: boolean }>((resolve) => {
            const es = new EventSource(url);
            es.onerror = (e) => resolve({ state: es.readyState, data: e instanceof MessageEvent });
          }),
        `/v1/threads/${threadId}/events?${query}`,
      );
    const closed = { state: 2, data: false };
    expect(await outcome("access_token=not-a-jwt")).toEqual(closed);
    expect(await outcome(`access_token=${token(["someone-else"])}`)).toEqual(closed);
    // What the page can do to learn why: the same URL with fetch shows the status and JSON error body.
    const status = await p.evaluate(
      async (url) => {
        const res = await fetch(url);
        const body = (await res.json()) as { error: { code: string } };
        return [res.status, body.error.code];
      },
      `/v1/threads/${threadId}/events?access_token=${token(["someone-else"])}`,
    );
    expect(status).toEqual([403, "FORBIDDEN"]);
  });
});
