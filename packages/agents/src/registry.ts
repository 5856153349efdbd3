import { ERRORS } from "@threadline/protocol";
import type { Agent } from "./types.js";

export interface AgentInfo {
  name: string;
  description: string;
  available: boolean;
  unavailableReason?: string;
}

/** One failing input field, named from the request body (`input.prompt`). */
export interface InputIssue {
  path: string;
  message: string;
}

export type InputValidation =
  | { ok: true; agent: Agent; input: unknown }
  | { ok: false; code: typeof ERRORS.UNKNOWN_AGENT.code; message: string; available: string[] }
  | { ok: false; code: typeof ERRORS.AGENT_UNAVAILABLE.code; message: string }
  | { ok: false; code: typeof ERRORS.INVALID_INPUT.code; message: string; issues: InputIssue[] };

export interface AgentRegistry {
  get(name: string): Agent | undefined;
  list(): AgentInfo[];
  /**
   * Checks a run request before it is queued: the agent exists, is available and accepts the input
   * (the API answers 400 otherwise). The worker checks again with the same function.
   */
  validateInput(name: string, input: unknown): InputValidation;
}

/** Agents by name. Names are unique. */
export function createAgentRegistry(agents: Agent[]): AgentRegistry {
  const byName = new Map<string, Agent>();
  for (const agent of agents) {
    if (byName.has(agent.name)) throw new Error(`agent "${agent.name}" is registered twice`);
    byName.set(agent.name, agent);
  }
  return {
    get: (name) => byName.get(name),
    list: () =>
      [...byName.values()].map((a) => ({
        name: a.name,
        description: a.description,
        available: a.unavailableReason === undefined,
        ...(a.unavailableReason === undefined ? {} : { unavailableReason: a.unavailableReason }),
      })),
    validateInput(name, input) {
      const agent = byName.get(name);
      if (!agent) {
        const available = [...byName.keys()];
        return {
          ok: false,
          code: ERRORS.UNKNOWN_AGENT.code,
          message: `unknown agent "${name}"; use one of: ${available.join(", ")}`,
          available,
        };
      }
      if (agent.unavailableReason !== undefined) {
        return {
          ok: false,
          code: ERRORS.AGENT_UNAVAILABLE.code,
          message: `agent "${name}" is unavailable: ${agent.unavailableReason}`,
        };
      }
      const parsed = agent.inputSchema.safeParse(input);
      if (parsed.success) return { ok: true, agent, input: parsed.data };
      const issues = parsed.error.issues.map((issue) => ({
        path: ["input", ...issue.path.map(String)].join("."),
        message: issue.message,
      }));
      const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      return {
        ok: false,
        code: ERRORS.INVALID_INPUT.code,
        message: `invalid input for agent "${name}": ${summary}`,
        issues,
      };
    },
  };
}
