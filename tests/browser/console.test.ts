import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import { uniqueId } from "@threadline/testing";
import type { BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../support/prometheus-text.js";
import { collectErrors, screenshot } from "./chromium.js";
import { type ConsoleInChromium, startConsoleInChromium } from "./console-chromium.js";
import type { ConsoleStack } from "./console-stack.js";

// The web console in Debian's Chromium against the real stack (processes from source, real Redis).
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "console-e2e", threads: ["*"], ttlSeconds: 3600 });
let stack: ConsoleStack;
let session: ConsoleInChromium<void>;
let context: BrowserContext;

beforeAll(async () => {
  session = await startConsoleInChromium({ viewport: { width: 1280, height: 900 } });
  ({ stack, context } = session);
}, 120_000);

// A failed test must not leave its page streaming into the next one's connection count.
afterEach(async () => {
  await Promise.all(context.pages().map((page) => page.close()));
});

afterAll(async () => {
  await session?.stop();
}, 60_000);

describe("web console in Chromium", () => {
  it("starts a demo run from the keyboard and shows the streamed answer, tool calls and statuses", async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${stack.apiUrl}/#token=${TOKEN}`);
    expect(new URL(page.url()).hash).toBe(""); // the token left the address bar
    const threadId = uniqueId("console-run");
    await page.getByLabel("Prompt").fill("Count the words of this sentence please");
    await page.getByLabel("Tokens per second").fill("60");
    await page.getByLabel("Thread id", { exact: true }).first().fill(threadId);
    await page.getByLabel("Prompt").press("Enter");

    await page.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });
    const { events, runId } = await replayLog(threadId);
    expect(await page.locator("#answer-text").textContent()).toBe(answerOf(events, runId));
    const calls = events.filter((e) => e.type === "delta" && deltaKind(e) === "tool_call");
    expect(calls.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator("#tool-calls li.tool-done").count()).toBe(calls.length);
    const firstArgs = await page.locator("#tool-calls .tool-args").first().textContent();
    expect(firstArgs?.length).toBeGreaterThan(2);
    expect(await page.locator("#tool-calls .tool-result").count()).toBe(calls.length);
    const statuses = events
      .filter((e) => e.type === "status")
      .map((e) => (e.content as { state: string }).state);
    expect(statuses).toContain("running");
    await expect
      .poll(() => page.locator("#timeline .state").allTextContents())
      .toEqual([...statuses, "done"]);
    expect(await page.locator("#connection-state").textContent()).toBe("live");
    expect(await page.locator("#run-ttft").textContent()).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    expect(await page.locator("#run-lag").textContent()).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    expect(new URL(page.url()).hash).toBe(`#thread=${threadId}`);
    await screenshot(page, "console-run");
    await page.close();
    expect(errors).toEqual([]);
  });

  it("resumes after the gateway is SIGKILLed and restarted, ending with the whole answer", async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    const threadId = uniqueId("console-kill");
    await page.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threadId}`);
    await page.locator("#connection-state").getByText("live").waitFor();
    await page.getByLabel("Tokens per second").fill("25");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect
      .poll(async () => (await page.locator("#answer-text").textContent())?.length ?? 0)
      .toBeGreaterThan(20);

    const killedAt = Date.now();
    await stack.killGateway();
    await page.locator("#connection-state").getByText("reconnecting").waitFor({ timeout: 10_000 });
    await screenshot(page, "console-reconnecting");
    await stack.restartGateway();
    await page.locator("#connection-state").getByText("resumed").waitFor({ timeout: 30_000 });
    const resumedAt = Date.now();
    await page.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });

    const { events, runId } = await replayLog(threadId);
    expect(await page.locator("#answer-text").textContent()).toBe(answerOf(events, runId));
    expect(await page.locator("#run-events").textContent()).toBe(String(events.length));
    await screenshot(page, "console-resumed");
    await page.close();
    // While the gateway was down Chromium logs each refused connection; nothing else may show up.
    const unexpected = errors.filter(
      (e) => !(e.at >= killedAt && e.at <= resumedAt + 1_000 && /net::ERR_/.test(e.text)),
    );
    expect(unexpected).toEqual([]);
    console.info(`[console-e2e] gateway down → console resumed in ${resumedAt - killedAt} ms`);
  });

  it("two tabs on one thread share ONE gateway stream, and the second keeps streaming when the first closes", async () => {
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    const threadId = uniqueId("console-tabs");
    const first = await context.newPage();
    const second = await context.newPage();
    const errors = [...[first, second].map(collectErrors)];
    await first.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threadId}`);
    await first.locator("#connection-state").getByText("live").waitFor();
    // The second tab opens the thread through the "Open a thread" form, from the keyboard.
    await second.goto(`${stack.apiUrl}/#token=${TOKEN}`);
    await second.getByRole("form", { name: "Open a thread" }).getByLabel("Thread id").fill(threadId);
    await second.getByRole("form", { name: "Open a thread" }).getByLabel("Thread id").press("Enter");
    await second.locator("#connection-state").getByText("live").waitFor();
    expect(await first.locator(".connection .hint").textContent()).toBe("this tab holds the connection");
    expect(await second.locator(".connection .hint").textContent()).toBe("shared from another tab");
    expect(await openStreams()).toBe(1);

    const runId = await createRun(threadId, { tokensPerSecond: 25, maxTokens: 90 });
    await expect
      .poll(async () => (await second.locator("#answer-text").textContent())?.length ?? 0)
      .toBeGreaterThan(30);
    expect(await openStreams()).toBe(1);
    await screenshot(second, "console-two-tabs");
    const closedAt = Date.now();
    await first.close();
    await second.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });
    const { events } = await replayLog(threadId);
    expect(await second.locator("#answer-text").textContent()).toBe(answerOf(events, runId));
    expect(await openStreams()).toBe(1); // the second tab took over the connection
    await second.close();
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    expect(errors.flat()).toEqual([]);
    console.info(`[console-e2e] leader closed; follower finished ${Date.now() - closedAt} ms later`);
  });

  it("says why when the token may not read the thread, and connects once a good token is pasted", async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    const other = signDevToken(DEV_JWT_SECRET, { sub: "console-other", threads: ["x"], ttlSeconds: 600 });
    await page.goto(`${stack.apiUrl}/#token=${other}&thread=${uniqueId("console-denied")}`);
    await expect.poll(() => page.locator("#stream-error").textContent()).toContain("FORBIDDEN");
    expect(await page.locator("#connection-state").textContent()).toBe("closed");
    // The refused requests (the stream, and the thread's history) are all Chromium logs: no
    // exception, no other error.
    const refused = errors.length;
    expect(refused).toBeGreaterThan(0);
    expect(errors.map((e) => e.text)).toEqual(Array(refused).fill(expect.stringContaining("403")));
    // Pasting a token that may read it (and pressing Enter) connects.
    await page.getByLabel("Token (JWT)").fill(TOKEN);
    await page.getByLabel("Token (JWT)").press("Enter");
    await page.locator("#connection-state").getByText("live").waitFor();
    expect(await page.locator("#stream-error").count()).toBe(0);
    expect(await page.locator("#token-info").textContent()).toMatch(/^sub console-e2e, expires in \d+ min$/);
    expect(errors).toHaveLength(refused);
    await page.close();
  });

  it("cancels a running run from its Cancel button", async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    const threadId = uniqueId("console-cancel");
    await page.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threadId}`);
    await page.getByLabel("Tokens per second").fill("5");
    await page.getByRole("button", { name: "Start run" }).click();
    await expect
      .poll(async () => (await page.locator("#answer-text").textContent())?.length ?? 0)
      .toBeGreaterThan(0);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator("#run-finished").getByText("cancelled").waitFor({ timeout: 10_000 });
    expect(await page.locator("#run-status").textContent()).toBe("cancelled");
    expect(await page.locator("#timeline .state").allTextContents()).toContain("cancelled");
    expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
    await page.close();
    expect(errors).toEqual([]);
  });
});

async function replayLog(threadId: string): Promise<{ events: ThreadEvent[]; runId: string }> {
  const res = await fetch(`${stack.apiUrl}/v1/threads/${threadId}/events?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(200);
  const { events } = (await res.json()) as { events: ThreadEvent[] };
  const runId = events[0]?.runId;
  if (!runId) throw new Error(`thread ${threadId} has no run in its replay log`);
  return { events, runId };
}

function answerOf(events: ThreadEvent[], runId: string): string {
  return events
    .filter((e) => e.runId === runId && e.type === "token")
    .map((e) => e.content as string)
    .join("");
}

function deltaKind(event: ThreadEvent): unknown {
  return (event.content as { kind?: unknown }).kind;
}

async function createRun(threadId: string, input: { tokensPerSecond: number; maxTokens: number }) {
  const res = await fetch(`${stack.apiUrl}/v1/threads/${threadId}/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ agent: "demo", input: { prompt: "two tabs, one connection", ...input } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function openStreams(): Promise<number> {
  const text = await (await fetch(`${stack.gatewayUrl}/metrics`)).text();
  return parseExposition(text).value("threadline_gateway_open_streams") ?? Number.NaN;
}
