import { createDemoAgent } from "./demo/demo-agent.js";
import type { Agent } from "./types.js";

/** The name runs use when they do not say. */
export const DEFAULT_AGENT = "demo";

/** The agents every service registers by default. */
export function defaultAgents(): Agent[] {
  return [createDemoAgent() as Agent];
}
