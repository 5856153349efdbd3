import { AgentError, type AgentEvent } from "../types.js";

/**
 * The run of an agent that cannot work here (no key): the registry refuses such runs at the API, so
 * this only fires if a job slips through; it fails once, without retries.
 */
// biome-ignore lint/correctness/useYield: it exists to throw on the first `next()`.
export async function* unavailableRun(name: string, reason: string): AsyncGenerator<AgentEvent> {
  throw new AgentError("AGENT_UNAVAILABLE", `agent "${name}" is unavailable: ${reason}`, false);
}
