import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { uniqueId } from "@threadline/testing";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { readThreadLog, startDemoRun } from "../scale/run-client.js";
import { launchChromium } from "./chromium.js";

// Issue 19 in a real browser: Debian's Chromium behind a real nginx (HTTP/1.1 and HTTP/2 over TLS with
// the self-signed certificate `pnpm topology --tls` makes) in front of two gateway processes.
let topology: Topology;
let browser: Browser;
let page: Page | undefined;
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "chromium-mx", threads: ["*"], ttlSeconds: 3600 });

beforeAll(async () => {
  [topology, browser] = await Promise.all([
    startTopology({
      gateways: 2,
      apis: 1,
      readyTimeoutMs: 150_000,
      workers: 2,
      tls: true,
      envFor: {
        gateway: { HEARTBEAT_INTERVAL_MS: "1000", SSE_RETRY_MS: "200" },
        api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" },
        worker: { WORKER_CONCURRENCY: "50" },
      },
    }),
    launchChromium(["--ignore-certificate-errors"]),
  ]);
}, 240_000);
afterEach(async () => {
  await page?.close();
  page = undefined;
});
afterAll(async () => {
  await browser?.close();
  await topology?.stop();
}, 60_000);

async function openPage(origin: string): Promise<Page> {
  page = await browser.newPage();
  await page.goto(`${origin}/nginx-health`);
  return page;
}

async function openStreams(base: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("threadline_gateway_open_streams "));
    return line ? Number(line.split(" ")[1]) : 0;
  } catch {
    return 0;
  }
}

describe("many threads, one connection, in Chromium through nginx", () => {
  it("50 threads on ONE native EventSource (/v1/events): the gateway is SIGKILLed mid-runs and Last-Event-ID (a position vector) resumes every thread on the other", {
    timeout: 240_000,
  }, async () => {
    const p = await openPage(topology.nginx!.httpsUrl!);
    const threads = Array.from({ length: 50 }, () => uniqueId("es50"));
    await p.evaluate(
      ({ url }) => {
        const w = globalThis as unknown as { got: Record<string, string[]>; opened: number; ids: string[] };
        w.got = {};
        w.opened = 0;
        w.ids = [];
        const es = new EventSource(url);
        es.onopen = () => {
          w.opened += 1;
        };
        es.onmessage = (e) => {
          const data = JSON.parse(e.data) as { threadId: string; id?: string; type: string };
          const seen = w.got[data.threadId] ?? [];
          seen.push(`${data.id}:${data.type}`);
          w.got[data.threadId] = seen;
          w.ids.push(e.lastEventId);
        };
      },
      { url: `/v1/events?threads=${threads.join(",")}&access_token=${TOKEN}&format=message` },
    );
    const state = () =>
      p.evaluate(() => {
        const w = globalThis as unknown as { got: Record<string, string[]>; opened: number };
        return { got: w.got, opened: w.opened };
      });
    await expect.poll(async () => (await state()).opened, { timeout: 30_000 }).toBe(1);
    await Promise.all(
      threads.map((t, i) =>
        startDemoRun(topology.url, t, { prompt: `run ${i}`, tokensPerSecond: 30, maxTokens: 90 }),
      ),
    );
    await expect
      .poll(async () => Object.values((await state()).got).filter((e) => e.length >= 5).length, {
        timeout: 60_000,
      })
      .toBe(50);
    const open = await Promise.all(topology.gateways.map((g) => openStreams(g.url)));
    const victim = topology.gateways[open.findIndex((n) => n > 0)]!;
    await victim.process.kill("SIGKILL");
    await expect.poll(async () => (await state()).opened, { timeout: 30_000 }).toBe(2);
    const doneAll = (got: Record<string, string[]>) =>
      threads.every((t) => got[t]?.some((e) => e.endsWith(":done")));
    await expect.poll(async () => doneAll((await state()).got), { timeout: 150_000 }).toBe(true);
    const { got } = await state();
    for (const t of threads) {
      const log = await readThreadLog(topology.url, t);
      expect(got[t]).toEqual(log.map((e) => `${e.id}:${e.type}`));
    }
  });

  it("opens 20 thread streams to one origin at once over HTTP/2; over HTTP/1.1 the browser stops at 6", {
    timeout: 120_000,
  }, async () => {
    const threads = Array.from({ length: 20 }, () => uniqueId("h2x20"));
    const openCount = async (origin: string) => {
      const p = await openPage(origin);
      await p.evaluate(
        ({ urls }) => {
          const w = globalThis as unknown as { opened: Set<number>; sources: EventSource[] };
          w.opened = new Set();
          w.sources = urls.map((url, i) => {
            const es = new EventSource(url);
            es.onopen = () => w.opened.add(i);
            return es;
          });
        },
        { urls: threads.map((t) => `/v1/threads/${t}/events?access_token=${TOKEN}`) },
      );
      const opened = () => p.evaluate(() => (globalThis as unknown as { opened: Set<number> }).opened.size);
      // The page's own navigation: which protocol the browser negotiated with nginx.
      const protocol = await p.evaluate(
        () =>
          (
            performance as unknown as { getEntriesByType(type: string): { nextHopProtocol?: string }[] }
          ).getEntriesByType("navigation")[0]?.nextHopProtocol,
      );
      return { p, opened, protocol };
    };

    const h2 = await openCount(topology.nginx!.httpsUrl!);
    expect(h2.protocol).toBe("h2");
    await expect.poll(h2.opened, { timeout: 30_000 }).toBe(20);
    await h2.p.close();

    const h1 = await openCount(topology.url);
    expect(h1.protocol).toBe("http/1.1");
    await expect.poll(h1.opened, { timeout: 15_000 }).toBe(6);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await h1.opened()).toBe(6);
  });
});
