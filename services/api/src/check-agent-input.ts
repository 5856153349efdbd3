import type { AgentRegistry } from "@threadline/agents";
import { ERRORS } from "@threadline/protocol";
import { httpError } from "@threadline/server";
import { invalid } from "./errors.js";

/** The agent exists, is available and accepts the input — else a 400 naming `agent` or `input.<field>`. */
export function checkAgentInput(
  agents: Pick<AgentRegistry, "validateInput">,
  agent: string,
  input: unknown,
): void {
  const result = agents.validateInput(agent, input);
  if (result.ok) return;
  if (result.code === ERRORS.INVALID_INPUT.code) throw invalid(ERRORS.INVALID_INPUT, "body", result.issues);
  const details = { issues: [{ path: "agent", message: result.message }] };
  throw httpError(ERRORS[result.code], `invalid body: agent: ${result.message}`, details);
}
