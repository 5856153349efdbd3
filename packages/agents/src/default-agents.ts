import { createDemoAgent } from "./demo/demo-agent.js";
import { createLlmAgents } from "./providers/llm-agents.js";
import type { LlmConfig } from "./providers/llm-config.js";
import { createResearchAgent } from "./research/research-agent.js";
import { defaultTools } from "./tools/default-tools.js";
import type { Tool } from "./tools/tool.js";
import { createToolRegistry } from "./tools/tool-registry.js";
import type { Agent } from "./types.js";

/** The name runs use when they do not say. */
export const DEFAULT_AGENT = "demo";

export interface DefaultAgentsOptions {
  /**
   * The config's `providers` (ANTHROPIC_*, OPENAI_*, AGENT_MAX_STEPS, MODEL_PRICES): adds the
   * `anthropic` and `openai` agents, each unavailable (with the variable to set) until configured.
   */
  providers?: LlmConfig;
  /** Tools beside the built-in ones (`calculator`, `word_count`), for every agent that calls tools. */
  tools?: Tool[];
}

/** The agents every service registers by default; all share one tool registry. */
export function defaultAgents(options: DefaultAgentsOptions = {}): Agent[] {
  const tools = createToolRegistry([...defaultTools(), ...(options.tools ?? [])]);
  const llm = options.providers ? createLlmAgents(options.providers, { tools }) : [];
  return [createDemoAgent({ tools }) as Agent, createResearchAgent({ tools }) as Agent, ...llm];
}
