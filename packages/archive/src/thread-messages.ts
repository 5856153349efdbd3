import type { RunView } from "@threadline/protocol";
import { parseEventHeader } from "./event-header.js";

export interface ToolCall {
  toolCallId?: string;
  name: string;
  args?: unknown;
  result?: unknown;
  isError?: boolean;
}

export interface ThreadMessage {
  runId: string;
  role: "user" | "assistant";
  content: string;
  toolCalls?: ToolCall[];
}

/**
 * A thread as a conversation: per run (oldest first), the user's input, then the assistant's final
 * answer (its tokens, counted from the last attempt's start: a retry re-runs the agent) and its tool
 * calls. `entries` are the thread's log entries in order, from Redis and/or the archive.
 */
export function foldMessages(runs: RunView[], entries: { json: string }[]): ThreadMessage[] {
  const answers = new Map<string, { text: string; toolCalls: ToolCall[] }>();
  for (const entry of entries) {
    const event = parseEventHeader(entry.json);
    // Sub-agents' own streams (events with `agent`) are not the assistant's answer: their results reach
    // it as the root agent's tool results.
    if (!event?.runId || event.agent !== undefined) continue;
    let answer = answers.get(event.runId);
    if (!answer) {
      answer = { text: "", toolCalls: [] };
      answers.set(event.runId, answer);
    }
    const content = event.content as Record<string, unknown> | string | undefined;
    if (event.type === "token" && typeof content === "string") answer.text += content;
    else if (event.type === "status" && typeof content === "object" && content?.state === "retrying") {
      answer.text = "";
      answer.toolCalls = [];
    } else if (event.type === "delta" && typeof content === "object" && content) {
      if (content.kind === "tool_call" && typeof content.name === "string") {
        answer.toolCalls.push({
          ...(typeof content.toolCallId === "string" ? { toolCallId: content.toolCallId } : {}),
          name: content.name,
          args: content.args,
        });
      } else if (content.kind === "tool_result") {
        const call = answer.toolCalls.find(
          (c) => c.toolCallId !== undefined && c.toolCallId === content.toolCallId,
        );
        if (call) {
          call.result = content.result;
          if (content.isError === true) call.isError = true;
        }
      }
    }
  }
  const ordered = [...runs].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.runId.localeCompare(b.runId),
  );
  return ordered.flatMap((run) => {
    const answer = answers.get(run.runId);
    const out: ThreadMessage[] = [{ runId: run.runId, role: "user", content: userText(run.input) }];
    if (answer && (answer.text || answer.toolCalls.length > 0)) {
      out.push({
        runId: run.runId,
        role: "assistant",
        content: answer.text,
        ...(answer.toolCalls.length > 0 ? { toolCalls: answer.toolCalls } : {}),
      });
    }
    return out;
  });
}

/** The user's turn as text: the `prompt` when the input has one, else the input as JSON. */
export function userText(input: Record<string, unknown> | undefined): string {
  if (!input) return "";
  return typeof input.prompt === "string" ? input.prompt : JSON.stringify(input);
}
