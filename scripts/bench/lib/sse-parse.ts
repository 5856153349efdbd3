/**
 * A lean SSE reader for the load client: it only needs each event's `data:` line, so it splits on
 * the blank line that ends an event and skips ids, event names, retry lines and comments.
 * Measured against eventsource-parser by `parser-bench.ts` (see docs/BENCHMARKS.md).
 */
export interface SseDataReader {
  push(chunk: string): void;
}

export function createSseDataReader(onData: (data: string) => void): SseDataReader {
  let buffer = "";
  return {
    push(chunk) {
      buffer = buffer.length === 0 ? chunk : buffer + chunk;
      let start = 0;
      for (;;) {
        const end = buffer.indexOf("\n\n", start);
        if (end === -1) break;
        readBlock(buffer, start, end, onData);
        start = end + 2;
      }
      buffer = start === 0 ? buffer : buffer.slice(start);
    },
  };
}

function readBlock(text: string, start: number, end: number, onData: (data: string) => void): void {
  let line = start;
  while (line < end) {
    let next = text.indexOf("\n", line);
    if (next === -1 || next > end) next = end;
    if (text.startsWith("data:", line)) {
      const from = text.charCodeAt(line + 5) === 32 ? line + 6 : line + 5;
      onData(text.slice(from, next));
      return;
    }
    line = next + 1;
  }
}

/**
 * The bench payload rides in the event's string `content` as `<step>|<n>|<publish time µs>`, so the
 * same extraction works for Threadline events, the floors' raw channel messages and Nchan bodies.
 */
export function readBenchContent(data: string): { step: number; n: number; sentUs: number } | undefined {
  const at = data.indexOf('"content":"');
  if (at === -1) return undefined;
  const from = at + 11;
  const to = data.indexOf('"', from);
  const parts = data.slice(from, to).split("|");
  if (parts.length !== 3) return undefined;
  return { step: Number(parts[0]), n: Number(parts[1]), sentUs: Number(parts[2]) };
}

/** Microseconds on the system-wide monotonic clock: comparable across threads and processes. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
