import { SSE_EVENT_NAMES, STREAM_ERROR_CODES } from "@threadline/protocol";
import type { RawSseMessage } from "./types.js";

/** The code of one of the gateway's own notices (`stream-error`: not in the log, no id); else undefined. */
export function streamErrorCode(message: RawSseMessage): string | undefined {
  if (message.event !== SSE_EVENT_NAMES.streamError) return undefined;
  try {
    const code = (JSON.parse(message.data) as { content?: { code?: unknown } } | null)?.content?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What ends a `?until=done` stream (the gateway closes it there): the run's `done`, a run's error, or a
 * notice that the stream cannot go on; REPLAY_TRUNCATED is only a warning (the replay follows it).
 */
export function isRunEnd(message: RawSseMessage): boolean {
  if (message.event === "done" || message.event === SSE_EVENT_NAMES.runError) return true;
  return (
    message.event === SSE_EVENT_NAMES.streamError &&
    streamErrorCode(message) !== STREAM_ERROR_CODES.replayTruncated
  );
}
