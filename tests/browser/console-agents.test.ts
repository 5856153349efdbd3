import { signDevToken } from "@threadline/auth";
import { createThreadlineClient, type ThreadlineClient } from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import { uniqueId } from "@threadline/testing";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, screenshot } from "./chromium.js";
import { type ConsoleInChromium, startConsoleInChromium } from "./console-chromium.js";
import type { ConsoleStack } from "./console-stack.js";

// Issue 18 item 2: the built-in `research` run (a supervisor and two concurrent sub-agents) renders
// as a tree in the console, through worker, Redis and gateway, in real Chromium.
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "agents-e2e", threads: ["*"], ttlSeconds: 3600 });
let stack: ConsoleStack;
let session: ConsoleInChromium<void>;
let context: BrowserContext;
let client: ThreadlineClient;

beforeAll(async () => {
  session = await startConsoleInChromium({
    stack: { env: { TOKEN_COALESCE_MS: "0" } },
    viewport: { width: 1280, height: 1100 },
  });
  ({ stack, context } = session);
  client = createThreadlineClient({
    apiUrl: stack.apiUrl,
    gatewayUrl: stack.gatewayUrl,
    getToken: () => TOKEN,
  });
}, 180_000);

afterAll(async () => {
  await session?.stop();
}, 60_000);

describe("multi-agent runs in the console (real stack, Chromium)", () => {
  it("the research run renders as a tree: supervisor → researcher and critic, each with its own stream", async () => {
    const threadId = uniqueId("research");
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threadId}`);
    await page.locator("#connection-state").getByText("live").waitFor();
    await client.runs.create(threadId, {
      agent: "research",
      input: { prompt: "Why do resumable streams need monotonic event ids?", tokensPerSecond: 200 },
    });
    await page.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });

    const tree = page.locator("#agent-tree");
    expect(await tree.locator(":scope > li").getAttribute("data-agent")).toBe("supervisor");
    const children = tree.locator('li[data-agent="supervisor"] > ul > li');
    expect(await children.evaluateAll((items) => items.map((li) => li.getAttribute("data-agent")))).toEqual([
      "supervisor/researcher",
      "supervisor/critic",
    ]);
    for (const path of ["supervisor/researcher", "supervisor/critic"]) {
      const node = tree.locator(`li[data-agent="${path}"]`);
      expect(await node.locator(".pill").first().textContent()).toBe("completed");
      expect(await node.locator(".agent-text").textContent()).toMatch(/monotonic/);
      expect(await node.locator(".hint").textContent()).toContain("word_count");
    }
    // The supervisor's answer is the run's answer, written from both findings.
    expect(await page.locator("#answer-text").textContent()).toMatch(
      /^Here is what my two researchers found/,
    );
    // Its own tool calls are the two sub-agents, with their texts as results.
    expect(await page.locator("#tool-calls .tool-name").allTextContents()).toEqual(["researcher", "critic"]);
    await screenshot(page, "console-agents");
    expect(errors).toEqual([]);
  });
});
