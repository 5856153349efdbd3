import { describe, expect, it } from "vitest";
import { mergeStreams } from "../merge-streams.js";
import { driveAgent } from "../providers/test-support/drive-agent.js";
import { calculator } from "../tools/calculator.js";
import { defineTool, type Tool } from "../tools/tool.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import { wordCount } from "../tools/word-count.js";
import type { AgentEvent } from "../types.js";
import { createResearchAgent } from "./research-agent.js";

/** The deltas of a kind, with their content as a record. */
const deltas = (events: AgentEvent[], kind: string) =>
  events.flatMap((e) =>
    e.type === "delta" && e.content.kind === kind
      ? [{ agent: e.agent, content: e.content as Record<string, unknown> }]
      : [],
  );
const pathOf = (e: { agent?: string[] | undefined }) => (e.agent ?? []).join("/") || "(root)";
const textOf = (events: AgentEvent[], path: string) =>
  events
    .filter((e) => e.type === "token" && pathOf(e) === path)
    .map((e) => e.content)
    .join("");

describe("research agent (multi-agent demo)", () => {
  it("plans, runs a researcher and a critic concurrently under their paths, then answers from their results", async () => {
    const { events, error } = await driveAgent(createResearchAgent(), {
      prompt: "Why do resumable streams need monotonic event ids?",
      tokensPerSecond: 400,
    });
    expect(error).toBeUndefined();
    expect(new Set(events.map(pathOf))).toEqual(
      new Set(["(root)", "supervisor/researcher", "supervisor/critic"]),
    );

    // The supervisor calls each sub-agent as a tool, and gets its text back as the result.
    const calls = deltas(events, "tool_call").filter((e) => !e.agent);
    expect(calls.map((e) => e.content.name)).toEqual(["researcher", "critic"]);
    const results = deltas(events, "tool_result").filter((e) => !e.agent);
    expect(results.map((e) => (e.content.result as { text: string }).text)).toEqual([
      textOf(events, "supervisor/researcher"),
      textOf(events, "supervisor/critic"),
    ]);

    // Concurrent: the two sub-agents' tokens interleave (both pace at 400 tokens/s).
    const subTokens = events.filter((e) => e.type === "token" && e.agent).map(pathOf);
    const firstCritic = subTokens.indexOf("supervisor/critic");
    const lastResearcher = subTokens.lastIndexOf("supervisor/researcher");
    expect(firstCritic).toBeLessThan(lastResearcher);

    // Each sub-agent runs its own tool and ends with its own status.
    for (const path of ["supervisor/researcher", "supervisor/critic"]) {
      const own = events.filter((e) => pathOf(e) === path);
      expect(own[0]).toMatchObject({ type: "status", content: { state: "running" } });
      expect(own.at(-1)).toMatchObject({ type: "status", content: { state: "completed" } });
      expect(own.filter((e) => e.type === "delta").map((e) => (e.content as { kind: string }).kind)).toEqual([
        "tool_call",
        "tool_result",
      ]);
    }

    // Coherent sentences about the prompt, not filler; the answer quotes both findings.
    const researcher = textOf(events, "supervisor/researcher");
    expect(researcher).toContain("monotonic");
    expect(researcher).toMatch(
      /^The question "Why do resumable streams need monotonic event ids" has 8 words/,
    );
    const answer = textOf(events, "(root)");
    expect(answer).toMatch(/^Here is what my two researchers found about/);
    expect(answer).toContain("Trade-offs: The main trade-off in");
    expect(events.at(-1)).toMatchObject({
      type: "done",
      content: { finishReason: "stop", output: { text: answer } },
    });
  });

  it("stops promptly when aborted mid-research, and its tools really run", async () => {
    let runs = 0;
    const counting = defineTool({
      ...wordCount,
      async run(input, ctx) {
        runs += 1;
        return wordCount.run(input, ctx);
      },
    });
    const tools = createToolRegistry([calculator, counting] as Tool[]);
    const controller = new AbortController();
    const { events } = await driveAgent(
      createResearchAgent({ tools }),
      { prompt: "Explain backpressure in streaming systems", tokensPerSecond: 100 },
      {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === "token" && e.agent) controller.abort();
        },
      },
    );
    // Every sub-agent tool call published was a real call (the tool counts its runs).
    const subCalls = events.filter((e) => e.type === "delta" && e.content.kind === "tool_call" && e.agent);
    expect(runs).toBe(subCalls.length);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === "done")).toBe(false);
    expect(events.filter((e) => e.type === "token").length).toBeLessThanOrEqual(2);
  });
});

describe("mergeStreams", () => {
  it("yields items as they arrive and returns each source's result in order", async () => {
    async function* source(name: string, delays: number[]) {
      for (const [i, ms] of delays.entries()) {
        await new Promise((r) => setTimeout(r, ms));
        yield `${name}${i}`;
      }
      return name.toUpperCase();
    }
    const merged = mergeStreams([source("a", [5, 40]), source("b", [20, 5])]);
    const items: string[] = [];
    let next = await merged.next();
    while (!next.done) {
      items.push(next.value);
      next = await merged.next();
    }
    expect(items).toEqual(["a0", "b0", "b1", "a1"]);
    expect(next.value).toEqual(["A", "B"]);
  });
});
