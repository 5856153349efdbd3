import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./api.js";
import { ConfigError } from "./load-config.js";
import { loadWorkerConfig } from "./worker.js";

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("providers config", () => {
  it("defaults to no keys, default models, 8 steps and no prices", () => {
    expect(loadWorkerConfig({}).providers).toEqual({
      anthropic: { model: "claude-sonnet-4-6" },
      openai: { model: "gpt-4.1-mini" },
      maxSteps: 8,
      prices: {},
    });
  });

  it("reads keys, models, base URLs (trailing slash dropped), steps and prices", () => {
    const config = loadWorkerConfig({
      ANTHROPIC_API_KEY: "sk-ant-x",
      ANTHROPIC_MODEL: "claude-haiku-4-5",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9000/",
      OPENAI_API_KEY: "sk-x",
      OPENAI_MODEL: "llama3.2",
      OPENAI_BASE_URL: "http://localhost:11434/v1",
      AGENT_MAX_STEPS: "3",
      MODEL_PRICES: '{"llama3.2":{"input":0,"output":0},"claude-haiku-4-5":{"input":1,"output":5}}',
    });
    expect(config.providers).toEqual({
      anthropic: { apiKey: "sk-ant-x", model: "claude-haiku-4-5", baseUrl: "http://127.0.0.1:9000" },
      openai: { apiKey: "sk-x", model: "llama3.2", baseUrl: "http://localhost:11434/v1" },
      maxSteps: 3,
      prices: { "llama3.2": { input: 0, output: 0 }, "claude-haiku-4-5": { input: 1, output: 5 } },
    });
  });

  it("names every bad provider variable on its own line", () => {
    const lines = errorLines(() =>
      loadWorkerConfig({
        OPENAI_BASE_URL: "localhost:11434",
        ANTHROPIC_BASE_URL: "ftp://x",
        AGENT_MAX_STEPS: "0",
        MODEL_PRICES: "{not json",
      }),
    );
    expect(lines).toEqual([
      'ANTHROPIC_BASE_URL: expected an http:// or https:// URL, got "ftp://x"',
      'OPENAI_BASE_URL: expected an http:// or https:// URL, got "localhost:11434"',
      'AGENT_MAX_STEPS: expected an integer 1-100, got "0"',
      'MODEL_PRICES: expected JSON like {"gpt-4.1-mini":{"input":0.4,"output":1.6}} (USD per million tokens)',
    ]);
  });

  it("rejects a price table of the wrong shape and says where", () => {
    const lines = errorLines(() => loadWorkerConfig({ MODEL_PRICES: '{"gpt-4.1":{"input":-1,"output":2}}' }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^MODEL_PRICES: expected .* at gpt-4\.1\.input: /);
  });

  it("gives the API the same providers, so it can refuse runs of unconfigured agents", () => {
    const env = { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_MODEL: "llama3.2" };
    expect(loadApiConfig(env).providers).toEqual(loadWorkerConfig(env).providers);
  });
});
