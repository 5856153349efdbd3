import { type Agent, type AgentContext, AgentError, type AgentEvent } from "../types.js";
import { LlmInput } from "./llm-input.js";

export interface LlmAgentSpec<C> {
  name: string;
  description: string;
  /** Undefined when the provider is not configured: the agent is then listed as unavailable. */
  client: C | undefined;
  /** Which variable to set; shown while `client` is undefined. */
  unavailableReason: string;
  run(client: C, input: LlmInput, ctx: AgentContext): AsyncGenerator<AgentEvent>;
}

/** The shell the provider agents share: runs go to `spec.run` with the client, or fail when there is none. */
export function defineLlmAgent<C>(spec: LlmAgentSpec<C>): Agent<LlmInput> {
  const { name, client, unavailableReason } = spec;
  return {
    name,
    description: spec.description,
    ...(client === undefined ? { unavailableReason } : {}),
    inputSchema: LlmInput,
    run(input, ctx) {
      if (client === undefined) return unavailableRun(name, unavailableReason);
      return spec.run(client, input, ctx);
    },
  };
}

/**
 * The run of an agent that cannot work here (no key): the registry refuses such runs at the API, so
 * this only fires if a job slips through; it fails once, without retries.
 */
// biome-ignore lint/correctness/useYield: it exists to throw on the first `next()`.
async function* unavailableRun(name: string, reason: string): AsyncGenerator<AgentEvent> {
  throw new AgentError("AGENT_UNAVAILABLE", `agent "${name}" is unavailable: ${reason}`, false);
}
