import {
  ERRORS,
  encodeSse,
  SSE_EVENT_NAMES,
  type SseFraming,
  STREAM_ERROR_CODES,
} from "@threadline/protocol";

/**
 * An in-band `stream-error` notice's content (see docs/API.md): the same words on the single-thread and
 * the multiplexed SSE routes, so a client handles them alike.
 */
export interface StreamNotice {
  code: string;
  message: string;
  retryable: boolean;
  /** replay_truncated: the position the log no longer holds. */
  after?: string;
}

export const NOTICES = {
  /** The token passed its exp on an open stream: the stream ends, the client resumes with a fresh one. */
  tokenExpired: {
    code: STREAM_ERROR_CODES.tokenExpired,
    message:
      "the token has expired: get a new one and resume with Last-Event-ID (a new EventSource: ?after=<last id>)",
    retryable: true,
  },
  /** Reading the replay log failed: the stream ends, the client resumes. */
  replayFailed: {
    code: STREAM_ERROR_CODES.replayFailed,
    message: ERRORS.REPLAY_FAILED.message,
    retryable: ERRORS.REPLAY_FAILED.retryable,
  },
  /** The resume position fell out of the log: the stream goes on with everything retained. */
  replayTruncated: (after: string): StreamNotice => ({
    code: STREAM_ERROR_CODES.replayTruncated,
    message: `events after ${after} are no longer in the replay log; everything retained follows`,
    retryable: false,
    after,
  }),
} satisfies Record<string, StreamNotice | ((after: string) => StreamNotice)>;

/** Frames a notice about one thread as an SSE `stream-error` event (never in the replay log: no id). */
export function encodeStreamNotice(
  threadId: string,
  ts: number,
  framing: SseFraming,
  notice: StreamNotice,
): string {
  const event = { type: "error" as const, threadId, ts, content: notice };
  return encodeSse(event, undefined, framing, SSE_EVENT_NAMES.streamError);
}
