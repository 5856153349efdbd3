import pino from "pino";
import { describe, expect, it } from "vitest";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import type { AgentEvent } from "../types.js";
import { mergeStreams } from "./merge-streams.js";
import { createResearchAgent } from "./research-agent.js";
import { ResearchInput } from "./research-input.js";

const log = pino({ level: "silent" });
const prompt = "How do resumable streams keep every event when a browser reconnects to resumable streams?";

/** The built-in tools, counting how often each really ran (a side effect a repeat would show). */
function countingTools() {
  const runs = new Map<string, number>();
  const tools = defaultTools().map((tool) => ({
    ...tool,
    run: (args: never, ctx: never) => {
      runs.set(tool.name, (runs.get(tool.name) ?? 0) + 1);
      return tool.run(args, ctx);
    },
  }));
  return { runs, registry: createToolRegistry(tools) };
}

async function collect(input: unknown, signal = new AbortController().signal) {
  const { runs, registry } = countingTools();
  const agent = createResearchAgent({ tools: registry });
  const events: AgentEvent[] = [];
  for await (const event of agent.run(ResearchInput.parse(input), {
    threadId: "t",
    runId: "r",
    attempt: 1,
    signal,
    log,
  })) {
    events.push(event);
  }
  return { events, runs };
}

const pathOf = (e: AgentEvent) => (e.agent ?? []).join("/");
const textOf = (events: AgentEvent[], path: string) =>
  events
    .filter((e) => e.type === "token" && pathOf(e) === path)
    .map((e) => e.content)
    .join("");

describe("research agent (multi-agent demo)", () => {
  it("tags every event with its agent's path; sub-agents report in sentences; the answer is built from their reports", async () => {
    const { events, runs } = await collect({ prompt, tokensPerSecond: 0 });
    expect(new Set(events.map(pathOf))).toEqual(
      new Set(["supervisor", "supervisor/analyst", "supervisor/estimator"]),
    );
    const analyst = textOf(events, "supervisor/analyst");
    const estimator = textOf(events, "supervisor/estimator");
    expect(analyst).toBe(
      'The question has 14 words and 89 characters. Its key terms are "resumable", "streams" and "keep". "resumable" comes up 2 times.',
    );
    expect(estimator).toBe(
      "Read silently at 200 words per minute it takes about 4.2 seconds; read aloud at 130 words per minute, about 6.5 seconds.",
    );
    const answer = textOf(events, "supervisor");
    expect(answer).toContain(`The analyst reports: ${analyst} The estimator reports: ${estimator}`);
    expect(answer).toMatch(/it is a medium-length question centred on "resumable"\.$/);

    // Each sub-agent is a tool of the supervisor whose result is that sub-agent's report.
    const results = events.filter((e) => e.type === "delta" && e.content.kind === "tool_result");
    expect(
      results
        .filter((e) => pathOf(e) === "supervisor")
        .map((e) => (e.content as unknown as { result: unknown }).result),
    ).toEqual(expect.arrayContaining([{ report: analyst }, { report: estimator }]));
    // Every tool call has exactly one result, and each real tool ran once per call.
    const calls = events.filter((e) => e.type === "delta" && e.content.kind === "tool_call");
    const ids = (list: AgentEvent[]) =>
      list.map((e) => (e.content as unknown as { toolCallId: string }).toolCallId).sort();
    expect(ids(results)).toEqual(ids(calls));
    expect(new Set(ids(calls)).size).toBe(calls.length);
    expect(Object.fromEntries(runs)).toEqual({ word_count: 2, calculator: 2 });

    const done = events.at(-1);
    expect(done).toMatchObject({
      type: "done",
      agent: ["supervisor"],
      content: { finishReason: "stop", output: { text: answer }, usage: { inputTokens: 14 } },
    });
    expect(done?.content).toMatchObject({
      usage: { outputTokens: events.filter((e) => e.type === "token").length },
    });
    // Deterministic for a prompt.
    expect((await collect({ prompt, tokensPerSecond: 0 })).events).toEqual(events);
  });

  it("runs the two sub-agents concurrently: their tokens interleave", async () => {
    const { events } = await collect({ prompt, tokensPerSecond: 100 });
    const order = events.filter((e) => e.type === "token" && pathOf(e) !== "supervisor").map(pathOf);
    const switches = order.filter((p, i) => i > 0 && p !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(2);
    // The supervisor writes only after both reported.
    const firstAnswerToken = events.findIndex((e) => e.type === "token" && pathOf(e) === "supervisor");
    const lastSubAgentEvent = events.findLastIndex((e) => pathOf(e).startsWith("supervisor/"));
    expect(firstAnswerToken).toBeGreaterThan(lastSubAgentEvent);
  });

  it("stops promptly on abort, with no done", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const { events } = await collect({ prompt, tokensPerSecond: 20 }, controller.signal);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(events.some((e) => e.type === "done")).toBe(false);
  });

  it("refuses unknown input fields", () => {
    expect(ResearchInput.safeParse({ prompt, depth: 3 }).success).toBe(false);
    expect(ResearchInput.safeParse({ prompt: "" }).success).toBe(false);
  });
});

describe("mergeStreams", () => {
  async function* source(name: string, delays: number[], failAt?: number) {
    for (const [i, ms] of delays.entries()) {
      await new Promise((r) => setTimeout(r, ms));
      if (i === failAt) throw new Error(`${name} failed`);
      yield `${name}${i}`;
    }
  }

  it("yields each item as its stream produces it, until all end", async () => {
    const out: string[] = [];
    for await (const x of mergeStreams([source("a", [5, 30, 30]), source("b", [15, 10, 50])])) out.push(x);
    expect(out).toEqual(["a0", "b0", "b1", "a1", "a2", "b2"]);
  });

  it("ends with the first error and closes the other streams", async () => {
    let closed = false;
    async function* endless() {
      try {
        for (;;) {
          await new Promise((r) => setTimeout(r, 5));
          yield "x";
        }
      } finally {
        closed = true;
      }
    }
    await expect(async () => {
      for await (const _ of mergeStreams([endless(), source("b", [20, 20], 1)])) {
      }
    }).rejects.toThrow("b failed");
    await expect.poll(() => closed).toBe(true);
  });
});
