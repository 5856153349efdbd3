import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import { uniqueId } from "@threadline/testing";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../support/prometheus-text.js";
import { collectErrors, screenshot } from "./chromium.js";
import { type ConsoleInChromium, startConsoleInChromium } from "./console-chromium.js";
import type { ConsoleStack } from "./console-stack.js";

// The console's runs board in Debian's Chromium against the real stack (processes from source, real
// Redis): several live runs on ONE gateway connection — the WebSocket, or the SSE fallback when the page
// has no WebSocket.
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "console-board", threads: ["*"], ttlSeconds: 3600 });
let stack: ConsoleStack;
let session: ConsoleInChromium<void>;
let context: BrowserContext;

beforeAll(async () => {
  session = await startConsoleInChromium({ viewport: { width: 1280, height: 1100 } });
  ({ stack, context } = session);
}, 120_000);

afterEach(async () => {
  await Promise.all(context.pages().map((page) => page.close()));
});

afterAll(async () => {
  await session?.stop();
}, 60_000);

/** Every gateway connection the page opens: WebSockets, and SSE requests by route. */
function recordConnections(page: Page) {
  const sockets: string[] = [];
  const closedSockets: string[] = [];
  const requests: string[] = [];
  page.on("websocket", (socket) => {
    sockets.push(socket.url());
    socket.on("close", () => closedSockets.push(socket.url()));
  });
  page.on("request", (request) => {
    if (request.url().startsWith(stack.gatewayUrl) && request.method() === "GET")
      requests.push(request.url());
  });
  return {
    sockets,
    closedSockets,
    multiplexed: () => requests.filter((u) => new URL(u).pathname === "/v1/events"),
  };
}

async function openThreads(page: Page, threads: string[]) {
  await page.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threads[0]}`);
  const form = page.getByRole("form", { name: "Open a thread" });
  for (const threadId of threads.slice(1)) {
    await form.getByLabel("Thread id").fill(threadId);
    await form.getByLabel("Thread id").press("Enter");
    await page.locator("#thread-title").getByText(`Thread ${threadId}`).waitFor();
  }
  await expect.poll(() => page.locator(".board-card").count()).toBe(threads.length);
}

/** Each card ends showing its run completed, with the event count of the thread's log and its answer's end. */
async function expectEveryRunOnTheBoard(page: Page, threads: string[]) {
  for (const threadId of threads) {
    const card = page.locator(".board-card", { has: page.locator(`[data-thread="${threadId}"]`) });
    await expect
      .poll(() => card.locator(".card-status").textContent(), { timeout: 60_000 })
      .toBe("completed");
    const events = await replayLog(threadId);
    await expect
      .poll(() => card.locator(".hint").textContent())
      .toMatch(new RegExp(`^${events.length} events`));
    const answer = events
      .filter((e) => e.type === "token")
      .map((e) => e.content as string)
      .join("");
    expect(await card.locator(".board-card-text").textContent()).toBe(answer.slice(-120));
  }
}

describe("console runs board in Chromium", () => {
  it("shows four live runs over ONE WebSocket (the page opens no other board connection)", {
    timeout: 120_000,
  }, async () => {
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    const page = await context.newPage();
    const errors = collectErrors(page);
    const connections = recordConnections(page);
    const threads = Array.from({ length: 4 }, () => uniqueId("board"));
    await openThreads(page, threads);
    await page.locator("#board-state").getByText("live").waitFor();
    await Promise.all(threads.map((t, i) => createRun(t, { tokensPerSecond: 20 + 5 * i, maxTokens: 60 })));
    // Mid-run: every card is streaming at once.
    for (const threadId of threads) {
      await expect
        .poll(() => page.locator(`.card-status[data-thread="${threadId}"]`).textContent(), {
          timeout: 30_000,
        })
        .toBe("running");
    }
    // The gateway holds two streams for this page: the main view's thread, and the board's one socket.
    expect(await openStreams()).toBe(2);
    await screenshot(page, "console-board");
    await expectEveryRunOnTheBoard(page, threads);
    expect(connections.sockets.filter((u) => new URL(u).pathname === "/v1/ws")).toHaveLength(1);
    expect(connections.closedSockets).toEqual([]);
    expect(connections.multiplexed()).toEqual([]);
    expect(await page.locator("#board-state").textContent()).toBe("live");
    expect(await page.locator("#board-state").getAttribute("data-transport")).toBe("websocket");
    await page.close();
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    expect(errors).toEqual([]);
  });

  it("falls back to ONE multiplexed SSE stream in a page without WebSocket, and keeps it as threads are added", {
    timeout: 120_000,
  }, async () => {
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    const page = await context.newPage();
    await page.addInitScript(() => {
      // A browser (or a proxy-hostile environment) without WebSocket: the SDK must not need it.
      Reflect.deleteProperty(globalThis, "WebSocket");
    });
    const errors = collectErrors(page);
    const connections = recordConnections(page);
    const threads = Array.from({ length: 3 }, () => uniqueId("board-sse"));
    await openThreads(page, threads);
    await page.locator("#board-state").getByText("live").waitFor();
    expect(await page.locator("#board-state").getAttribute("title")).toBe(
      "one SSE stream for every thread below",
    );
    await Promise.all(threads.map((t) => createRun(t, { tokensPerSecond: 20, maxTokens: 60 })));
    await expect
      .poll(() => page.locator(`.card-status[data-thread="${threads[0]}"]`).textContent(), {
        timeout: 30_000,
      })
      .toBe("running");
    // A fourth thread joins mid-run: the one stream reopens with it, the others resume where they were.
    const late = uniqueId("board-sse-late");
    await createRun(late, { tokensPerSecond: 20, maxTokens: 60 });
    const form = page.getByRole("form", { name: "Open a thread" });
    await form.getByLabel("Thread id").fill(late);
    await form.getByLabel("Thread id").press("Enter");
    await expect.poll(() => page.locator(".board-card").count()).toBe(4);
    await expect.poll(openStreams).toBe(2);
    await expectEveryRunOnTheBoard(page, [...threads, late]);
    expect(connections.sockets).toEqual([]);
    const lists = connections.multiplexed().map((u) => new URL(u).searchParams.get("threads"));
    // The stream open now carries all four (in the order the board subscribed them).
    expect(lists.at(-1)?.split(",").sort()).toEqual([...threads, late].sort());
    expect(await openStreams()).toBe(2);
    await page.close();
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    expect(errors).toEqual([]);
  });
});

async function replayLog(threadId: string): Promise<ThreadEvent[]> {
  const res = await fetch(`${stack.apiUrl}/v1/threads/${threadId}/events?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: ThreadEvent[] }).events;
}

async function createRun(threadId: string, input: { tokensPerSecond: number; maxTokens: number }) {
  const res = await fetch(`${stack.apiUrl}/v1/threads/${threadId}/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ agent: "demo", input: { prompt: "many runs, one connection", ...input } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function openStreams(): Promise<number> {
  const text = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
  return parseExposition(text).value("threadline_gateway_open_streams") ?? Number.NaN;
}
