import { AgentName, EVENT_TYPES, type EventType, RunId, type ThreadEvent } from "@threadline/protocol";
import { z } from "zod";

/** What a client asked to receive; an absent field does not filter. */
export interface StreamFilter {
  types?: ReadonlySet<EventType>;
  runId?: string;
  /** An agent path: matches events of that agent and of its sub-agents. */
  agent?: readonly string[];
}

const knownTypes = new Set<string>(EVENT_TYPES);

/** `?types=status,done`: a comma-separated list of event types. */
const TypesParam = z.string().transform((value, ctx) => {
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !knownTypes.has(name));
  if (unknown.length > 0 || names.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: `unknown event type ${unknown.map((n) => JSON.stringify(n)).join(", ")}: use a comma-separated list of ${EVENT_TYPES.join(", ")}`,
    });
    return z.NEVER;
  }
  return new Set(names as EventType[]);
});

/** `?agent=supervisor/researcher`: an agent path joined by `/`. */
const AgentParam = z.string().transform((value, ctx) => {
  const names = value.split("/");
  if (!names.every((name) => AgentName.safeParse(name).success) || names.length > 32) {
    ctx.addIssue({
      code: "custom",
      message: "must be an agent path of non-empty names joined by /, like supervisor/researcher",
    });
    return z.NEVER;
  }
  return names;
});

/** The filter's query fields, to spread into a route's query schema. */
export const streamFilterQuery = {
  types: TypesParam.optional(),
  runId: RunId.optional(),
  agent: AgentParam.optional(),
};

export function streamFilterOf(query: {
  types?: Set<EventType>;
  runId?: string;
  agent?: string[];
}): StreamFilter | undefined {
  const { types, runId, agent } = query;
  if (types === undefined && runId === undefined && agent === undefined) return undefined;
  return { types, runId, agent };
}

/** The run (and agent subtree) the client follows, whatever types it asked for. */
export function inScope(filter: StreamFilter, event: ThreadEvent): boolean {
  if (filter.runId !== undefined && event.runId !== filter.runId) return false;
  if (filter.agent !== undefined) {
    // No `agent` = the run's root agent, which is no sub-agent of any named path.
    const path = event.agent ?? [];
    if (path.length < filter.agent.length) return false;
    for (let i = 0; i < filter.agent.length; i++) if (path[i] !== filter.agent[i]) return false;
  }
  return true;
}

/** Whether the event is delivered to the client. */
export function matchesFilter(filter: StreamFilter, event: ThreadEvent): boolean {
  if (filter.types !== undefined && !filter.types.has(event.type)) return false;
  return inScope(filter, event);
}
