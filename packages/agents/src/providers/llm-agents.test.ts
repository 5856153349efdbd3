import { describe, expect, it } from "vitest";
import { createAgentRegistry } from "../registry.js";
import { defaultTools } from "../tools/default-tools.js";
import { createToolRegistry } from "../tools/tool-registry.js";
import { createLlmAgents } from "./llm-agents.js";

const tools = createToolRegistry(defaultTools());
const base = { maxSteps: 8, prices: {} };

describe("createLlmAgents in the agent registry", () => {
  it("lists both agents as unavailable without keys, with the variable to set, and refuses their runs", () => {
    const registry = createAgentRegistry(
      createLlmAgents(
        { ...base, anthropic: { model: "claude-sonnet-4-6" }, openai: { model: "gpt-4.1-mini" } },
        { tools },
      ),
    );
    expect(
      registry
        .list()
        .map(({ name, available, unavailableReason }) => ({ name, available, unavailableReason })),
    ).toEqual([
      { name: "anthropic", available: false, unavailableReason: "set ANTHROPIC_API_KEY to use Claude" },
      {
        name: "openai",
        available: false,
        unavailableReason:
          "set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server (Ollama, vLLM, llama.cpp)",
      },
    ]);
    expect(registry.validateInput("openai", { prompt: "hi" })).toMatchObject({
      ok: false,
      code: "AGENT_UNAVAILABLE",
      message: expect.stringContaining("set OPENAI_API_KEY"),
    });
  });

  it("accepts valid input once configured, and names bad input fields", () => {
    const registry = createAgentRegistry(
      createLlmAgents(
        {
          ...base,
          anthropic: { apiKey: "k", model: "claude-sonnet-4-6" },
          openai: { model: "llama3.2", baseUrl: "http://127.0.0.1:11434/v1" },
        },
        { tools },
      ),
    );
    expect(registry.list().every((a) => a.available)).toBe(true);
    expect(registry.validateInput("anthropic", { prompt: "hi", maxSteps: 3 })).toMatchObject({ ok: true });
    expect(registry.validateInput("openai", { prompt: "", maxSteps: 0, temperature: 1 })).toMatchObject({
      ok: false,
      code: "INVALID_INPUT",
      issues: [
        { path: "input.prompt", message: expect.any(String) },
        { path: "input.maxSteps", message: expect.any(String) },
        { path: "input", message: expect.stringContaining("temperature") },
      ],
    });
  });
});
