import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import type { ThreadEvent } from "@threadline/protocol";
import {
  createTestDatabase,
  type ServiceInstance,
  startServiceProcess,
  type TestDatabase,
  uniqueId,
} from "@threadline/testing";
import { Redis } from "ioredis";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "./build-console.js";
import { collectErrors, launchChromium, screenshot } from "./chromium.js";
import { type ConsoleStack, startConsoleStack } from "./console-stack.js";

// The console's thread history in Debian's Chromium: real api, gateway and worker processes, a real Redis
// and a real PostgreSQL database created for this file. After FLUSHALL everything the console shows comes
// from the archive.
const SUB = uniqueId("history-e2e");
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: SUB, threads: ["*"], ttlSeconds: 3600 });
let database: TestDatabase;
let stack: ConsoleStack;
let redis: Redis;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = { DATABASE_URL: database.url, ARCHIVE_POLL_MS: "50" };
  const [started] = await Promise.all([startConsoleStack({ env }), buildConsole()]);
  stack = started;
  redis = new Redis(stack.redisUrl);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  redis?.disconnect();
  await stack?.stop();
  await database?.drop();
}, 60_000);

describe("console thread history in Chromium (archive in PostgreSQL)", () => {
  it("after Redis FLUSHALL the thread list and the thread view still render the whole history from the archive", async () => {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${stack.apiUrl}/#token=${TOKEN}`);
    const other = uniqueId("hist-b");
    const threadId = uniqueId("hist-a");
    // Oldest activity first: the list is newest first.
    await startFromForm(page, other, "A thread of its own");
    await startFromForm(page, threadId, "What is 6 times 7?");
    await startFromForm(page, threadId, "And what did I ask before?");

    const before = await readLog(threadId);
    const runIds = [...new Set(before.map((e) => e.runId))];
    expect(runIds).toHaveLength(2);
    const answers = runIds.map((runId) => answerOf(before, runId!));
    expect(answers[1]).toContain("What is 6 times 7?"); // the agent remembers the first turn
    await expect.poll(() => page.locator("#answer-text").textContent()).toBe(answers[1]);
    for (const runId of runIds) await waitArchived(threadId, runId!);
    await waitArchived(other, (await readLog(other))[0]!.runId!);

    await redis.flushall();
    expect(await redis.exists(`{thread:${threadId}}:log`)).toBe(0);

    // A fresh tab (the token is kept in localStorage): nothing of the thread is left in Redis.
    await page.close();
    const fresh = await context.newPage();
    const freshErrors = collectErrors(fresh);
    await fresh.goto(`${stack.apiUrl}/`);
    const items = fresh.locator("#thread-list li");
    await expect.poll(() => items.locator(".thread-id").allTextContents()).toEqual([threadId, other]);
    expect(await items.first().locator(".thread-preview").textContent()).toBe("And what did I ask before?");
    expect(await items.first().locator(".thread-status").textContent()).toBe("completed");

    await items.first().getByRole("button").click();
    expect(new URL(fresh.url()).hash).toBe(`#thread=${threadId}`);
    await fresh.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });
    // The run view replays the whole run from the archive: the same answer and every event of it.
    expect(await fresh.locator("#answer-text").textContent()).toBe(answers[1]);
    expect(await fresh.locator("#run-events").textContent()).toBe(
      String(before.filter((e) => e.runId === runIds[1]).length),
    );
    // Both runs read as ended in the run picker (the demo ends with `done`, no final status event).
    expect(
      await fresh
        .getByRole("navigation", { name: "Runs of this thread" })
        .getByRole("button")
        .allTextContents(),
    ).toEqual(runIds.map((id) => `${id!.slice(-8)} · completed`));
    const conversation = fresh.locator("#conversation li");
    await expect.poll(() => conversation.count()).toBe(4);
    expect(await conversation.locator(".message-text").allTextContents()).toEqual([
      "What is 6 times 7?",
      answers[0],
      "And what did I ask before?",
      answers[1],
    ]);
    // The first run, picked from the conversation, renders whole too.
    await conversation.first().getByRole("button").click();
    await expect.poll(() => fresh.locator("#answer-text").textContent()).toBe(answers[0]);
    expect(await fresh.getByRole("alert").count()).toBe(0); // no gap, no stream error
    await expect.poll(() => fresh.locator("#connection-state").textContent()).toBe("live");
    // Reading history re-creates nothing in Redis.
    expect(await redis.exists(`{thread:${threadId}}:log`)).toBe(0);
    await screenshot(fresh, "console-history-after-flushall");
    await fresh.close();
    expect([...errors, ...freshErrors]).toEqual([]);
  }, 180_000);

  it("says the thread list needs the archive when the API runs without it", async () => {
    let api: ServiceInstance | undefined;
    try {
      api = await startServiceProcess({
        kind: "api",
        env: {
          LOG_LEVEL: "warn",
          REDIS_URL: stack.redisUrl,
          ARCHIVE: "off",
          GATEWAY_PUBLIC_URL: stack.gatewayUrl,
        },
      });
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${api.url}/#token=${TOKEN}`);
      await expect.poll(() => page.locator("#threads-disabled").count()).toBe(1);
      expect(await page.locator("#thread-list li").count()).toBe(0);
      expect(await page.locator("#threads-error").count()).toBe(0);
      await page.close();
      // Nothing else went wrong (collectErrors leaves out exactly this documented 503).
      expect(errors).toEqual([]);
    } finally {
      await api?.process.stop(5_000);
    }
  }, 90_000);
});

/** Starts a demo run from the console's form and waits for its `done` in the thread's log. */
async function startFromForm(page: Page, threadId: string, prompt: string): Promise<void> {
  const doneCount = async () =>
    (await readLog(threadId).catch(() => [] as ThreadEvent[])).filter((e) => e.type === "done").length;
  const before = await doneCount();
  await page.getByLabel("Prompt").fill(prompt);
  await page.getByLabel("Tokens per second").fill("400");
  await page.getByLabel("Thread id", { exact: true }).first().fill(threadId);
  await page.getByLabel("Prompt").press("Enter");
  await expect.poll(doneCount, { timeout: 30_000 }).toBe(before + 1);
}

async function readLog(threadId: string): Promise<ThreadEvent[]> {
  const res = await fetch(`${stack.apiUrl}/v1/threads/${threadId}/events?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (res.status !== 200) throw new Error(`events page of ${threadId}: ${res.status}`);
  return ((await res.json()) as { events: ThreadEvent[] }).events;
}

async function waitArchived(threadId: string, runId: string): Promise<void> {
  const url = `${stack.apiUrl}/v1/threads/${threadId}/runs/${runId}`;
  await expect
    .poll(
      async () => {
        const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await res.json()) as { archivedAt?: string }).archivedAt;
      },
      { timeout: 15_000 },
    )
    .toBeDefined();
}

function answerOf(events: ThreadEvent[], runId: string): string {
  return events
    .filter((e) => e.runId === runId && e.type === "token")
    .map((e) => e.content as string)
    .join("");
}
