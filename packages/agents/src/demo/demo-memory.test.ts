import pino from "pino";
import { describe, expect, it } from "vitest";
import { createDemoAgent } from "./demo-agent.js";
import { DemoInput } from "./demo-input.js";

async function answer(history?: { role: "user" | "assistant"; content: string }[]): Promise<string> {
  const ctx = {
    threadId: "t",
    runId: "r",
    attempt: 1,
    signal: new AbortController().signal,
    log: pino({ level: "silent" }),
    ...(history ? { history } : {}),
  };
  let text = "";
  const input = DemoInput.parse({ prompt: "And what about Italy?", tokensPerSecond: 0, maxTokens: 30 });
  for await (const event of createDemoAgent().run(input, ctx))
    if (event.type === "token") text += event.content;
  return text;
}

describe("demo agent memory", () => {
  it("names the thread's previous question when the run gets earlier turns, and not otherwise", async () => {
    const remembered = await answer([
      { role: "user", content: "What is the capital of France?" },
      { role: "assistant", content: "Paris." },
    ]);
    expect(remembered).toMatch(
      /^Earlier you asked "What is the capital of France\?"\. You asked about "And what about Italy\?"/,
    );
    expect(await answer()).toMatch(/^You asked about "And what about Italy\?"/);
  });
});
