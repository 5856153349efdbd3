import { signDevToken } from "@threadline/auth";
import { createThreadlineClient, type ThreadlineClient } from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import {
  AnthropicStream,
  type FakeLlmServer,
  OpenAiResponsesStream,
  startFakeAnthropicServer,
  startFakeOpenAiServer,
  uniqueId,
} from "@threadline/testing";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, screenshot } from "./chromium.js";
import { type ConsoleInChromium, startConsoleInChromium } from "./console-chromium.js";
import type { ConsoleStack } from "./console-stack.js";

// Model reasoning (delta kind "reasoning") from the real providers' SDK against byte-level fake
// Anthropic and OpenAI servers, through worker, Redis and gateway, folded above the answer in the console.
const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "reasoning-e2e", threads: ["*"], ttlSeconds: 3600 });
let anthropic: FakeLlmServer;
let openai: FakeLlmServer & { baseUrl: string };
let stack: ConsoleStack;
let session: ConsoleInChromium<void>;
let context: BrowserContext;
let client: ThreadlineClient;

beforeAll(async () => {
  [anthropic, openai] = await Promise.all([startFakeAnthropicServer(), startFakeOpenAiServer()]);
  const env = {
    ANTHROPIC_API_KEY: "sk-ant-fake",
    ANTHROPIC_BASE_URL: anthropic.url,
    OPENAI_API_KEY: "sk-fake",
    OPENAI_BASE_URL: openai.baseUrl,
    OPENAI_API: "responses",
    OPENAI_MODEL: "o4-mini",
    TOKEN_COALESCE_MS: "0",
  };
  session = await startConsoleInChromium({ stack: { env }, viewport: { width: 1280, height: 900 } });
  ({ stack, context } = session);
  client = createThreadlineClient({
    apiUrl: stack.apiUrl,
    gatewayUrl: stack.gatewayUrl,
    getToken: () => TOKEN,
  });
}, 180_000);

afterAll(async () => {
  await session?.stop();
  await Promise.all([anthropic?.close(), openai?.close()]);
}, 60_000);

async function watchRun(agent: string, name: string) {
  const threadId = uniqueId(name);
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${stack.apiUrl}/#token=${TOKEN}&thread=${threadId}`);
  await page.locator("#connection-state").getByText("live").waitFor();
  await client.runs.create(threadId, { agent, input: { prompt: "Why is the sky blue?", reasoning: {} } });
  await page.locator("#run-finished").getByText("stop").waitFor({ timeout: 30_000 });
  return { page, errors };
}

describe("reasoning deltas in the console (fake providers, real stack, Chromium)", () => {
  it("Anthropic thinking streams as reasoning, folded above the answer and apart from it", async () => {
    anthropic.enqueue({
      kind: "sse",
      frames: new AnthropicStream()
        .messageStart(20)
        .thinkingBlock(0, "Rayleigh scattering: ", "shorter wavelengths scatter more.")
        .textBlock(1, "Because air scatters ", "blue light most.")
        .messageDelta("end_turn", 30)
        .messageStop()
        .frames(),
    });
    const { page, errors } = await watchRun("anthropic", "reasoning-anthropic");
    const details = page.locator("details#reasoning");
    expect(await details.getAttribute("open")).toBeNull(); // folded
    expect(await page.locator("#reasoning-text").textContent()).toBe(
      "Rayleigh scattering: shorter wavelengths scatter more.",
    );
    expect(await page.locator("#answer-text").textContent()).toBe("Because air scatters blue light most.");
    // Above the answer: the answer's section is the next sibling of the folded reasoning.
    expect(await page.locator("details#reasoning + section #answer").count()).toBe(1);
    await details.locator("summary").click();
    await screenshot(page, "console-reasoning");
    expect(errors).toEqual([]);
  });

  it("OpenAI reasoning summaries (Responses API) stream as reasoning too", async () => {
    openai.enqueue(
      new OpenAiResponsesStream(undefined, "o4-mini")
        .created()
        .reasoning("rs_1", "Think about ", "scattering.")
        .message("msg_1", "Scattering ", "of blue light.")
        .completed(12, 9, 4)
        .reply(),
    );
    const { page, errors } = await watchRun("openai", "reasoning-openai");
    expect(await page.locator("#reasoning-text").textContent()).toBe("Think about scattering.");
    expect(await page.locator("#answer-text").textContent()).toBe("Scattering of blue light.");
    expect(errors).toEqual([]);
  });
});
