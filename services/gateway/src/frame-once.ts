import { encodeSse, type SseFraming, type ThreadEvent } from "@threadline/protocol";

/** The SSE frame of an event, as the bytes to write. */
export type EventFramer = (
  event: Pick<ThreadEvent, "type" | "id">,
  json: string,
  framing?: SseFraming,
) => Buffer;

/**
 * `encodeSse` as bytes, memoised for the last event. Every client of a thread receives the same
 * message, and parse-once hands each stream the very same `json` string, so a fan-out frames and
 * UTF-8-encodes a message once and writes one Buffer to every socket, where it built and encoded one
 * string per client (and Node measured each string's byte length again to frame the chunk).
 */
export function createFrameOnce(): EventFramer {
  let lastJson: string | undefined;
  let lastType: string | undefined;
  let lastId: string | undefined;
  let lastFraming: SseFraming = "named";
  let lastFrame = Buffer.alloc(0);
  return (event, json, framing = "named") => {
    if (json === lastJson && event.type === lastType && event.id === lastId && framing === lastFraming)
      return lastFrame;
    lastFrame = Buffer.from(encodeSse(event, json, framing));
    lastJson = json;
    lastType = event.type;
    lastId = event.id;
    lastFraming = framing;
    return lastFrame;
  };
}
