import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createDemoAgent } from "./demo/demo-agent.js";
import { createAgentRegistry } from "./registry.js";
import type { Agent } from "./types.js";

const offline: Agent = {
  name: "anthropic",
  description: "Claude",
  unavailableReason: "set ANTHROPIC_API_KEY to enable it",
  inputSchema: z.object({ prompt: z.string() }),
  async *run() {},
};

describe("agent registry", () => {
  const registry = createAgentRegistry([createDemoAgent() as Agent, offline]);

  it("lists agents with their availability", () => {
    expect(registry.list()).toEqual([
      { name: "demo", description: expect.stringContaining("demo"), available: true },
      {
        name: "anthropic",
        description: "Claude",
        available: false,
        unavailableReason: "set ANTHROPIC_API_KEY to enable it",
      },
    ]);
    expect(registry.get("demo")?.name).toBe("demo");
    expect(registry.get("nope")).toBeUndefined();
  });

  it("accepts valid input and applies the defaults", () => {
    const result = registry.validateInput("demo", { prompt: "hi" });
    expect(result).toMatchObject({ ok: true, input: { prompt: "hi", tokensPerSecond: 50, maxTokens: 64 } });
  });

  it("names an unknown agent and the ones that exist", () => {
    expect(registry.validateInput("gpt-9", { prompt: "hi" })).toEqual({
      ok: false,
      code: "UNKNOWN_AGENT",
      message: 'unknown agent "gpt-9"; use one of: demo, anthropic',
      available: ["demo", "anthropic"],
    });
  });

  it("refuses an unavailable agent with its reason", () => {
    expect(registry.validateInput("anthropic", { prompt: "hi" })).toEqual({
      ok: false,
      code: "AGENT_UNAVAILABLE",
      message: 'agent "anthropic" is unavailable: set ANTHROPIC_API_KEY to enable it',
    });
  });

  it("reports every bad field with its path from the request body", () => {
    const result = registry.validateInput("demo", {
      prompt: "",
      maxTokens: 1.5,
      tokensPerSecond: -1,
      extra: 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok || result.code !== "INVALID_INPUT") throw new Error("expected INVALID_INPUT");
    expect(result.issues.map((i) => i.path).sort()).toEqual([
      "input",
      "input.maxTokens",
      "input.prompt",
      "input.tokensPerSecond",
    ]);
    expect(result.issues.find((i) => i.path === "input")?.message).toContain("extra");
    expect(result.message).toMatch(/^invalid input for agent "demo": input\./);
    expect(registry.validateInput("demo", "not an object")).toMatchObject({
      ok: false,
      code: "INVALID_INPUT",
    });
  });

  it("refuses duplicate agent names", () => {
    expect(() => createAgentRegistry([offline, offline])).toThrow('agent "anthropic" is registered twice');
  });
});
