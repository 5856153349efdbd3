import { SSE_EVENT_NAMES } from "@threadline/protocol";
import type { TailMessage, TailNotice } from "./tail-stream.js";

/** Protocol 2 names the frames of `type: "error"` apart from the browser's `error` event. */
const ERROR_NAMES = new Set<string>([SSE_EVENT_NAMES.runError, SSE_EVENT_NAMES.streamError]);

/** Where the human view writes: events to `out`, connection notices to `err`. */
export interface RenderTarget {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The human view of `tail`: tokens flow inline, every other event is one timeline line (starting on a fresh
 * line after streamed text), connection changes go to stderr.
 */
export function createEventRenderer(target: RenderTarget) {
  let midLine = false;
  const line = (text: string) => {
    target.out(`${midLine ? "\n" : ""}${text}\n`);
    midLine = false;
  };
  return {
    event(message: TailMessage): void {
      const value = message.value ?? {};
      const content = value.content;
      const time = clock(typeof value.ts === "number" ? value.ts : Date.now());
      if (message.event !== "token") {
        const kind = ERROR_NAMES.has(message.event) ? "error" : message.event;
        line(timelineText(kind, value, time, message.data));
        return;
      }
      if (typeof content === "string" && content.length > 0) {
        target.out(content);
        midLine = !content.endsWith("\n");
      }
    },
    notice(notice: TailNotice): void {
      if (midLine) target.out("\n");
      midLine = false;
      if (notice.type === "connected") {
        target.err(
          notice.resumedAfter ? `↻ reconnected, resumed after ${notice.resumedAfter}\n` : "● connected\n",
        );
      } else {
        target.err(
          `↻ ${notice.reason}; reconnecting in ${(notice.delayMs / 1000).toFixed(1)}s` +
            `${notice.lastEventId ? ` (Last-Event-ID ${notice.lastEventId})` : ""}\n`,
        );
      }
    },
    end(): void {
      if (midLine) target.out("\n");
      midLine = false;
    },
  };
}

function timelineText(event: string, value: Record<string, unknown>, time: string, data: string): string {
  const content = value.content;
  switch (event) {
    case "status":
      return `── ${time} ${statusText(content)}${runSuffix(value)}`;
    case "delta":
      return `   ${time} ${deltaText(content)}`;
    case "done":
      return `✔  ${time} done ${doneText(content)}`;
    case "error":
      return `✖  ${time} error ${errorText(content)}`;
    default:
      return `   ${time} ${event} ${data}`;
  }
}

function clock(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

function runSuffix(value: Record<string, unknown>): string {
  return typeof value.runId === "string" ? `  [${value.runId}]` : "";
}

function statusText(content: unknown): string {
  const c = (content ?? {}) as {
    state?: string;
    attempt?: number;
    step?: number;
    total?: number;
    message?: string;
  };
  const parts = [`status ${c.state ?? "?"}`];
  if (c.attempt !== undefined) parts.push(`attempt ${c.attempt}`);
  if (c.step !== undefined)
    parts.push(c.total !== undefined ? `step ${c.step}/${c.total}` : `step ${c.step}`);
  if (c.message) parts.push(`— ${c.message}`);
  return parts.join(" ");
}

function deltaText(content: unknown): string {
  const c = (content ?? {}) as Record<string, unknown>;
  const name = typeof c.name === "string" ? c.name : "?";
  if (c.kind === "tool_call") {
    if (c.args !== undefined) return `→ tool ${name}(${compact(c.args)})`;
    if (c.argsDelta !== undefined) return `→ tool ${name} args… ${compact(c.argsDelta)}`;
    return `→ tool ${name}${c.error ? ` (bad arguments: ${compact(c.error)})` : "()"}`;
  }
  if (c.kind === "tool_result") return `← ${name}${c.isError ? " failed" : ""}: ${compact(c.result)}`;
  const { kind, ...rest } = c;
  return `· ${String(kind ?? "delta")} ${compact(rest)}`;
}

function doneText(content: unknown): string {
  const c = (content ?? {}) as { finishReason?: string; usage?: unknown };
  return `(${c.finishReason ?? "?"})${c.usage ? ` usage ${compact(c.usage)}` : ""}`;
}

function errorText(content: unknown): string {
  const c = (content ?? {}) as { code?: string; message?: string; retryable?: boolean };
  return `${c.code ?? "?"}: ${c.message ?? ""}${c.retryable ? " (retryable)" : ""}`;
}

function compact(value: unknown, max = 160): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
