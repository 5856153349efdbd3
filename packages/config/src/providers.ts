import { z } from "zod";
import { int, oneOf, optionalText, text } from "./fields.js";

/** USD per million tokens, per model name: `{"gpt-4.1-mini":{"input":0.4,"output":1.6}}`. */
export const ModelPrices = z.record(
  z.string().min(1),
  z.strictObject({ input: z.number().min(0), output: z.number().min(0) }),
);
export type ModelPrices = z.infer<typeof ModelPrices>;

export interface ProviderEndpoint {
  /** Unset → the agent is listed as unavailable (except OpenAI-compatible with a base URL). */
  apiKey?: string;
  model: string;
  baseUrl?: string;
  /** OpenAI only: `responses` or `chat` completions; unset → chat with a base URL, else responses. */
  api?: "responses" | "chat";
}

/** What the LLM agents in packages/agents need; keys are secrets and never logged. */
export interface ProvidersConfig {
  anthropic: ProviderEndpoint;
  openai: ProviderEndpoint;
  /** Model turns per run (each turn may call tools). */
  maxSteps: number;
  prices: ModelPrices;
}

const EXAMPLE = `{"gpt-4.1-mini":{"input":0.4,"output":1.6}}`;

function modelPrices() {
  return z
    .string()
    .optional()
    .transform((v, ctx): ModelPrices => {
      if (v === undefined || v.trim() === "") return {};
      let json: unknown;
      try {
        json = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: "custom", message: `expected JSON like ${EXAMPLE} (USD per million tokens)` });
        return z.NEVER;
      }
      const result = ModelPrices.safeParse(json);
      if (result.success) return result.data;
      const first = result.error.issues[0];
      const where = first?.path.length ? ` at ${first.path.map(String).join(".")}` : "";
      ctx.addIssue({
        code: "custom",
        message: `expected ${EXAMPLE} (USD per million tokens)${where}: ${first?.message ?? "invalid"}`,
      });
      return z.NEVER;
    });
}

function optionalHttpUrl() {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const s = v.trim();
      try {
        if (["http:", "https:"].includes(new URL(s).protocol)) return s.replace(/\/+$/, "");
      } catch {}
      ctx.addIssue({
        code: "custom",
        message: `expected an http:// or https:// URL, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    });
}

/** Env fields for the LLM providers, spread into the worker's schema. */
export const providersEnv = {
  ANTHROPIC_API_KEY: optionalText(),
  ANTHROPIC_MODEL: text("claude-sonnet-4-6"),
  ANTHROPIC_BASE_URL: optionalHttpUrl(),
  OPENAI_API_KEY: optionalText(),
  OPENAI_MODEL: text("gpt-4.1-mini"),
  OPENAI_BASE_URL: optionalHttpUrl(),
  /** `auto`: the Responses API for OpenAI itself, chat completions for a server named by OPENAI_BASE_URL. */
  OPENAI_API: oneOf(["auto", "responses", "chat"], "auto"),
  AGENT_MAX_STEPS: int(1, 100, 8),
  MODEL_PRICES: modelPrices(),
};

type ProvidersEnv = z.output<z.ZodObject<typeof providersEnv>>;

export function buildProvidersConfig(parsed: ProvidersEnv): ProvidersConfig {
  const endpoint = (apiKey?: string, model = "", baseUrl?: string): ProviderEndpoint => ({
    ...(apiKey ? { apiKey } : {}),
    model,
    ...(baseUrl ? { baseUrl } : {}),
  });
  return {
    anthropic: endpoint(parsed.ANTHROPIC_API_KEY, parsed.ANTHROPIC_MODEL, parsed.ANTHROPIC_BASE_URL),
    openai: {
      ...endpoint(parsed.OPENAI_API_KEY, parsed.OPENAI_MODEL, parsed.OPENAI_BASE_URL),
      ...(parsed.OPENAI_API === "auto" ? {} : { api: parsed.OPENAI_API }),
    },
    maxSteps: parsed.AGENT_MAX_STEPS,
    prices: parsed.MODEL_PRICES,
  };
}
