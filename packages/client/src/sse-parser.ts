/** One dispatched SSE event: what a browser's EventSource would fire. */
export interface ParsedSseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export interface SseParserHandlers {
  onEvent(message: ParsedSseEvent): void;
  /**
   * A frame with an `id:` and no `data:`. EventSource records it as its `lastEventId` without firing;
   * the gateway starts a live-only stream with one (the log's tail), so a client that drops before
   * its first event still knows where to resume.
   */
  onPosition(id: string): void;
  onRetry(ms: number): void;
}

const BOM = 0xfeff;

/**
 * The WHATWG event-stream parser (lines end in CRLF, LF or CR; `data`, `event`, `id`, `retry`,
 * comments; a blank line dispatches). It replaces eventsource-parser in the SDK because that one
 * drops an id-only frame without a trace, and the SDK's `from: "live"` joins need exactly that frame
 * (docs/ARCHITECTURE.md, "Resume"). Chunks may split anywhere, even between a CR and its LF.
 */
export function createSseParser(handlers: SseParserHandlers) {
  let pending = "";
  let first = true;
  /** The previous chunk ended in CR: a LF at the start of the next one belongs to it. */
  let afterCr = false;
  let data: string[] = [];
  let event: string | undefined;
  let id: string | undefined;
  let sawId = false;

  const dispatch = () => {
    if (data.length > 0) handlers.onEvent({ id: sawId ? id : undefined, event, data: data.join("\n") });
    else if (sawId && id) handlers.onPosition(id);
    data = [];
    event = undefined;
    sawId = false;
  };
  const line = (text: string) => {
    if (text === "") return dispatch();
    if (text.charCodeAt(0) === 58) return; // ":" a comment
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    const value = colon === -1 ? "" : text.slice(text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value || undefined;
    else if (field === "id") {
      // The spec ignores an id containing NUL; an empty one resets the last event id (no position).
      if (!value.includes("\0")) {
        id = value;
        sawId = true;
      }
    } else if (field === "retry" && /^\d+$/.test(value)) handlers.onRetry(Number(value));
  };

  return {
    feed(chunk: string) {
      if (chunk === "") return;
      let text = pending + chunk;
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === BOM) text = text.slice(1);
      }
      let start = 0;
      if (afterCr && text.charCodeAt(0) === 10) start = 1;
      afterCr = false;
      let lf = text.indexOf("\n", start);
      let cr = text.indexOf("\r", start);
      while (lf !== -1 || cr !== -1) {
        const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
        line(text.slice(start, end));
        start = end + 1;
        if (end === cr) {
          if (start === text.length) afterCr = true;
          else if (text.charCodeAt(start) === 10) start++;
        }
        if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
        if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
      }
      pending = text.slice(start);
    },
  };
}
