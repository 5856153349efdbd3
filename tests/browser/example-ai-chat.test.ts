import { signDevToken } from "@threadline/auth";
import { createThreadlineClient, type ThreadlineClient } from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import { freePort, uniqueId } from "@threadline/testing";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildExample } from "../../packages/example-ai-chat/scripts/build-example.js";
import { type ExampleServer, serveExample } from "../../packages/example-ai-chat/scripts/serve-example.js";
import { collectErrors, screenshot } from "./chromium.js";
import { type ConsoleInChromium, startConsoleInChromium } from "./console-chromium.js";
import type { ConsoleStack } from "./console-stack.js";

// packages/example-ai-chat (Vite + React + useChat + @threadline/client/ai-sdk) in Debian's Chromium,
// served the way its start script serves it, against the real stack (processes from source, real Redis).
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "example-e2e", threads: ["*"], ttlSeconds: 3600 });
let stack: ConsoleStack;
let example: ExampleServer;
let session: ConsoleInChromium<string>;
let context: BrowserContext;
let client: ThreadlineClient;

beforeAll(async () => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  session = await startConsoleInChromium({
    stack: { pageOrigins: [origin] },
    build: buildExample,
    viewport: { width: 1000, height: 900 },
  });
  ({ stack, context } = session);
  const distDir = session.built;
  const config = { apiUrl: stack.apiUrl, gatewayUrl: stack.gatewayUrl, token: TOKEN, agent: "demo" };
  example = await serveExample({ distDir, port, config });
  client = createThreadlineClient({
    apiUrl: stack.apiUrl,
    gatewayUrl: stack.gatewayUrl,
    getToken: () => TOKEN,
  });
}, 180_000);

afterEach(async () => {
  await Promise.all(context.pages().map((page) => page.close()));
});

afterAll(async () => {
  await example?.close();
  await session?.stop();
}, 60_000);

/** Opens the chat on a fresh thread (`tps`: the demo's tokens per second) and sends one message. */
async function startChat(prompt: string, tps?: number): Promise<{ page: Page; threadId: string }> {
  const threadId = uniqueId("chat");
  const page = await context.newPage();
  await page.goto(`${example.url}/?thread=${threadId}${tps ? `&tps=${tps}` : ""}`);
  await page.fill("#prompt", prompt);
  await page.click("#send");
  return { page, threadId };
}

const answerText = (page: Page) => page.locator(".message.assistant .text").last().textContent();
const runState = (page: Page) =>
  page.locator(".message.assistant .run-status").last().getAttribute("data-state", { timeout: 1_000 });

async function latestRun(threadId: string) {
  const [run] = await client.runs.list(threadId, { limit: 1 });
  if (!run) throw new Error(`no run on ${threadId}`);
  return run;
}

async function logOf(threadId: string, runId: string): Promise<ThreadEvent[]> {
  const page = await client.thread(threadId).history({ limit: 1000 });
  return page.events.filter((e) => e.runId === runId);
}

const answerOf = (events: ThreadEvent[]) =>
  events.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("");

describe("example-ai-chat: useChat on Threadline in Chromium", () => {
  it("streams a demo run to completion: tools with their output, then the whole answer", async () => {
    const { page, threadId } = await startChat("What does Threadline add to useChat?");
    const errors = collectErrors(page);
    await expect.poll(() => runState(page), { timeout: 30_000 }).toBe("completed");
    const run = await latestRun(threadId);
    expect(await answerText(page)).toBe(answerOf(await logOf(threadId, run.runId)));
    expect(await page.locator(".message.user .text").textContent()).toBe(
      "What does Threadline add to useChat?",
    );
    expect(
      await page.locator(".message.assistant .tool").evaluateAll((els) => els.map((e) => e.dataset.state)),
    ).toEqual(["output-available", "output-available"]);
    expect(await page.locator("#chat-status").textContent()).toBe("ready");
    await screenshot(page, "example-ai-chat");
    expect(errors).toEqual([]);
  });

  it("a reload mid-run shows the partial answer again and continues to the end, nothing repeated or missing", async () => {
    const { page, threadId } = await startChat("Reload me halfway through", 20);
    await expect
      .poll(async () => (await answerText(page))?.length ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(40);
    await page.reload();
    // The answer comes back from the run's start while the run is still going.
    await expect
      .poll(async () => (await answerText(page))?.length ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(0);
    expect(await runState(page)).toBe("running");
    await expect.poll(() => runState(page), { timeout: 60_000 }).toBe("completed");
    const run = await latestRun(threadId);
    expect(await answerText(page)).toBe(answerOf(await logOf(threadId, run.runId)));
    expect(await page.locator(".message.assistant").count()).toBe(1);
  });

  it("killing and restarting the gateway mid-run does the same", async () => {
    const { page, threadId } = await startChat("Survive a gateway crash", 20);
    await expect
      .poll(async () => (await answerText(page))?.length ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(40);
    await stack.killGateway();
    const before = (await answerText(page))?.length ?? 0;
    await stack.restartGateway();
    await expect.poll(() => runState(page), { timeout: 60_000 }).toBe("completed");
    const run = await latestRun(threadId);
    const answer = answerOf(await logOf(threadId, run.runId));
    expect(answer.length).toBeGreaterThan(before);
    expect(await answerText(page)).toBe(answer);
  });

  it("stop() cancels the run: status cancelled in the log", async () => {
    const { page, threadId } = await startChat("Stop me", 10);
    await expect
      .poll(async () => (await answerText(page))?.length ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(10);
    await page.click("#stop");
    const run = await latestRun(threadId);
    await expect
      .poll(async () => (await client.runs.get(threadId, run.runId)).status, { timeout: 20_000 })
      .toBe("cancelled");
    const log = await logOf(threadId, run.runId);
    expect(log.some((e) => e.type === "status" && e.content.state === "cancelled")).toBe(true);
    expect(log.at(-1)).toMatchObject({ type: "done", content: { finishReason: "cancelled" } });
    await expect.poll(() => page.locator("#chat-status").textContent()).toBe("ready");
  });
});
