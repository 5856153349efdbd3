import {
  type DeltaContent,
  type DoneContent,
  isFinalState,
  type StatusContent,
  type ThreadEvent,
} from "./events.js";

/**
 * The Vercel AI SDK UI message stream chunks Threadline sends (`ai` 6, `UIMessageChunk`), spelled out
 * here so the protocol needs no SDK; `@threadline/client/ai-sdk` checks at compile time that each is a
 * `UIMessageChunk`. Tools are `dynamic`: the browser does not declare them.
 */
export type UiChunk =
  | { type: "start"; messageId?: string }
  | { type: "start-step" }
  | { type: "finish-step" }
  | { type: "text-start"; id: string }
  | { type: "text-delta"; id: string; delta: string }
  | { type: "text-end"; id: string }
  | { type: "reasoning-start"; id: string }
  | { type: "reasoning-delta"; id: string; delta: string }
  | { type: "reasoning-end"; id: string }
  | { type: "tool-input-start"; toolCallId: string; toolName: string; dynamic: true }
  | { type: "tool-input-delta"; toolCallId: string; inputTextDelta: string }
  | { type: "tool-input-available"; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | {
      type: "tool-input-error";
      toolCallId: string;
      toolName: string;
      input: unknown;
      errorText: string;
      dynamic: true;
    }
  | { type: "tool-output-available"; toolCallId: string; output: unknown; dynamic: true }
  | { type: "tool-output-error"; toolCallId: string; errorText: string; dynamic: true }
  | { type: "data-threadline-status"; id: string; data: StatusContent }
  | { type: "error"; errorText: string }
  | {
      type: "finish";
      finishReason: "stop" | "length" | "error" | "other";
      messageMetadata: { threadline: ThreadlineFinish };
    };

/** What the `finish` chunk's `messageMetadata.threadline` holds: the run's `done` content and its id. */
export type ThreadlineFinish = { runId: string | undefined } & DoneContent;

/** The HTTP header that marks a UI message stream, and its terminator (the SDK's protocol). */
export const UI_MESSAGE_STREAM_HEADER = { name: "x-vercel-ai-ui-message-stream", value: "v1" } as const;
export const UI_MESSAGE_STREAM_DONE = "data: [DONE]\n\n";

export interface UiChunkMapper {
  /** The chunks one event of the run becomes (none for events of other runs, repeats, or after `done`). */
  push(event: ThreadEvent): UiChunk[];
  /** True once the run's `done` was mapped: the UI stream ends there. */
  readonly finished: boolean;
}

/**
 * Maps one run's events, in order, onto the AI SDK UI message stream: a `start` (message id = run id);
 * `status` → `data-threadline-status` (one part, updated in place), and with a `step` a new step
 * (`finish-step` + `start-step`); `token` → text parts; `reasoning` deltas → reasoning parts;
 * `tool_call`/`tool_result` deltas → tool input start/delta/available (or input error) and output
 * available (or output error); a non-retryable `error` → `error`; `done` → `finish` with the done
 * content as metadata (and the status part set to the final state the `done` implies, when no final
 * status came). Pure: replaying a run's events from its start rebuilds the same chunks, which
 * is how a stream resumed after an event id knows its open parts.
 */
export function createUiChunkMapper(runId?: string): UiChunkMapper {
  const state = {
    runId,
    started: false,
    finished: false,
    lastSeq: 0,
    status: undefined as StatusContent["state"] | undefined,
    stepOpen: false,
    parts: 0,
    text: undefined as string | undefined,
    reasoning: undefined as { id: string; source: string | undefined } | undefined,
    tools: new Map<string, { name: string; args: "none" | "available" }>(),
  };

  const closeParts = (out: UiChunk[]) => {
    if (state.text !== undefined) out.push({ type: "text-end", id: state.text });
    if (state.reasoning !== undefined) out.push({ type: "reasoning-end", id: state.reasoning.id });
    state.text = undefined;
    state.reasoning = undefined;
  };
  const closeStep = (out: UiChunk[]) => {
    closeParts(out);
    if (state.stepOpen) out.push({ type: "finish-step" });
    state.stepOpen = false;
  };

  const status = (content: StatusContent, out: UiChunk[]) => {
    if (content.state === "running" && content.step !== undefined) {
      closeStep(out);
      out.push({ type: "start-step" });
      state.stepOpen = true;
    }
    // A retry streams the answer again: what the failed attempt wrote stays in its own closed step.
    if (content.state === "retrying") closeStep(out);
    state.status = content.state;
    out.push({ type: "data-threadline-status", id: "status", data: content });
  };

  const token = (text: string, out: UiChunk[]) => {
    if (state.reasoning !== undefined) closeParts(out);
    if (state.text === undefined) {
      state.text = `text-${++state.parts}`;
      out.push({ type: "text-start", id: state.text });
    }
    out.push({ type: "text-delta", id: state.text, delta: text });
  };

  const reasoning = (delta: DeltaContent, out: UiChunk[]) => {
    if (typeof delta.text !== "string" || delta.text === "") return;
    const source = typeof delta.id === "string" ? delta.id : undefined;
    if (state.text !== undefined || (state.reasoning && state.reasoning.source !== source)) closeParts(out);
    if (state.reasoning === undefined) {
      state.reasoning = { id: `reasoning-${++state.parts}`, source };
      out.push({ type: "reasoning-start", id: state.reasoning.id });
    }
    out.push({ type: "reasoning-delta", id: state.reasoning.id, delta: delta.text });
  };

  const openTool = (toolCallId: string, name: unknown, out: UiChunk[]) => {
    let tool = state.tools.get(toolCallId);
    if (!tool) {
      // Later text belongs after the tool in the message, so the parts before it are closed.
      closeParts(out);
      tool = { name: typeof name === "string" ? name : "tool", args: "none" };
      state.tools.set(toolCallId, tool);
      out.push({ type: "tool-input-start", toolCallId, toolName: tool.name, dynamic: true });
    }
    return tool;
  };

  const toolCall = (delta: DeltaContent, toolCallId: string, out: UiChunk[]) => {
    const tool = openTool(toolCallId, delta.name, out);
    if (typeof delta.argsDelta === "string" && delta.argsDelta !== "") {
      out.push({ type: "tool-input-delta", toolCallId, inputTextDelta: delta.argsDelta });
    }
    if (typeof delta.error === "string") {
      tool.args = "available";
      out.push({
        type: "tool-input-error",
        toolCallId,
        toolName: tool.name,
        input: delta.args,
        errorText: delta.error,
        dynamic: true,
      });
    } else if (delta.args !== undefined) {
      tool.args = "available";
      out.push({
        type: "tool-input-available",
        toolCallId,
        toolName: tool.name,
        input: delta.args,
        dynamic: true,
      });
    }
  };

  const toolResult = (delta: DeltaContent, toolCallId: string, out: UiChunk[]) => {
    const tool = openTool(toolCallId, delta.name, out);
    // The SDK only accepts an output for a call whose input is known.
    if (tool.args === "none") {
      tool.args = "available";
      out.push({ type: "tool-input-available", toolCallId, toolName: tool.name, input: {}, dynamic: true });
    }
    if (delta.isError === true) {
      out.push({ type: "tool-output-error", toolCallId, errorText: errorText(delta.result), dynamic: true });
    } else {
      out.push({ type: "tool-output-available", toolCallId, output: delta.result ?? null, dynamic: true });
    }
  };

  const done = (content: DoneContent, out: UiChunk[]) => {
    closeStep(out);
    // A run that ends well publishes no final status: the status part still reads the end.
    if (!isFinalState(state.status)) {
      out.push({
        type: "data-threadline-status",
        id: "status",
        data: { state: DONE_STATE[content.finishReason] },
      });
    }
    out.push({
      type: "finish",
      finishReason: FINISH[content.finishReason],
      messageMetadata: { threadline: { runId: state.runId, ...content } },
    });
    state.finished = true;
  };

  return {
    get finished() {
      return state.finished;
    },
    push(event) {
      if (state.finished) return [];
      if (event.runId !== undefined) {
        if (state.runId === undefined) state.runId = event.runId;
        if (event.runId !== state.runId) return [];
      }
      if (event.seq !== undefined) {
        if (event.seq <= state.lastSeq) return [];
        state.lastSeq = event.seq;
      }
      const out: UiChunk[] = [];
      if (!state.started) {
        state.started = true;
        out.push(state.runId === undefined ? { type: "start" } : { type: "start", messageId: state.runId });
      }
      switch (event.type) {
        case "status":
          status(event.content, out);
          break;
        case "token":
          if (event.content) token(event.content, out);
          break;
        case "delta": {
          const delta = event.content;
          const toolCallId = typeof delta.toolCallId === "string" ? delta.toolCallId : undefined;
          if (delta.kind === "reasoning") reasoning(delta, out);
          else if (delta.kind === "tool_call" && toolCallId) toolCall(delta, toolCallId, out);
          else if (delta.kind === "tool_result" && toolCallId) toolResult(delta, toolCallId, out);
          break;
        }
        case "error":
          // A retryable error is followed by `status retrying`; only a final one ends the answer.
          if (!event.content.retryable) {
            closeParts(out);
            out.push({ type: "error", errorText: `${event.content.code}: ${event.content.message}` });
          }
          break;
        case "done":
          done(event.content, out);
          break;
      }
      return out;
    },
  };
}

const FINISH = { stop: "stop", length: "length", error: "error", cancelled: "other" } as const;
const DONE_STATE = {
  stop: "completed",
  length: "completed",
  error: "failed",
  cancelled: "cancelled",
} as const;

function errorText(result: unknown): string {
  if (result && typeof result === "object" && typeof (result as { error?: unknown }).error === "string") {
    return (result as { error: string }).error;
  }
  return typeof result === "string" ? result : "tool failed";
}

/**
 * Appends `chunk` to `chunks`, merged into the last one when it continues the same part: adjacent
 * `text-delta`s (or `reasoning-delta`s) of one part id become one delta, adjacent `tool-input-delta`s of
 * one call one delta, and a `data-*` part replaces an adjacent update of the same id (data parts are
 * updated in place by id). The AI SDK builds the same message from the merged chunks as from the
 * originals, so a late joiner can be sent a run so far as a few chunks instead of one per token.
 */
export function pushCoalesced(chunks: UiChunk[], chunk: UiChunk): void {
  const last = chunks.at(-1);
  if (last !== undefined && last.type === chunk.type) {
    if (
      (last.type === "text-delta" || last.type === "reasoning-delta") &&
      "id" in chunk &&
      last.id === chunk.id
    ) {
      last.delta += (chunk as typeof last).delta;
      return;
    }
    if (last.type === "tool-input-delta" && last.toolCallId === (chunk as typeof last).toolCallId) {
      last.inputTextDelta += (chunk as typeof last).inputTextDelta;
      return;
    }
    if (last.type === "data-threadline-status" && last.id === (chunk as typeof last).id) {
      chunks[chunks.length - 1] = chunk;
      return;
    }
  }
  // A copy: merging later must not change a chunk the caller still holds.
  chunks.push({ ...chunk });
}

/** One chunk as an SSE frame of the UI message stream; `id` (the event's log id) lets a client resume. */
export function encodeUiChunk(chunk: UiChunk, id?: string): string {
  return `${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(chunk)}\n\n`;
}
