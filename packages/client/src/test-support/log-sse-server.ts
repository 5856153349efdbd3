import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeSse, encodeSseRetry, type ThreadEvent } from "@threadline/protocol";

export interface LogSseServer {
  url: string;
  /** Appends a token event to the log and sends it to every open stream. */
  publish(text: string): ThreadEvent;
  /** Cuts every open stream (a gateway restart). */
  dropStreams(): void;
  /** Open SSE responses right now. */
  openStreams(): number;
  /** Every SSE request's Last-Event-ID (or `after`), in order. */
  resumes: Array<string | undefined>;
  /** Resolves once `count` SSE requests have arrived. */
  waitForStreams(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A tiny gateway + history API over an in-memory log (ids `<n>-0`): SSE with Last-Event-ID replay and live
 * fan-out, and the JSON history page. For testing resume and cross-tab sharing without Redis.
 */
export async function startLogSseServer(): Promise<LogSseServer> {
  const log: ThreadEvent[] = [];
  const streams = new Set<ServerResponse>();
  const resumes: Array<string | undefined> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const after = (id: string | undefined) =>
    log.filter((e) => Number.parseInt(e.id ?? "0", 10) > Number.parseInt(id ?? "0", 10));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.headers.accept !== "text/event-stream") {
      const events = after(url.searchParams.get("after") ?? "0");
      const limit = Number(url.searchParams.get("limit") ?? 100);
      const page = events.slice(0, limit);
      const body = {
        events: page,
        nextAfter: page.at(-1)?.id ?? url.searchParams.get("after") ?? "0",
        truncated: false,
        more: events.length > limit,
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    const resumeFrom =
      (req.headers["last-event-id"] as string | undefined) ?? url.searchParams.get("after") ?? undefined;
    resumes.push(resumeFrom);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(encodeSseRetry(10));
    if (resumeFrom !== undefined) for (const event of after(resumeFrom)) res.write(encodeSse(event));
    streams.add(res);
    res.on("close", () => streams.delete(res));
    for (const w of waiters.filter((x) => resumes.length >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    resumes,
    publish(text) {
      const n = log.length + 1;
      const event: ThreadEvent = {
        type: "token",
        threadId: "t",
        runId: "r",
        seq: n,
        ts: Date.now(),
        id: `${n}-0`,
        content: text,
      };
      log.push(event);
      for (const res of streams) res.write(encodeSse(event));
      return event;
    },
    dropStreams: () => {
      for (const res of streams) res.destroy();
    },
    openStreams: () => streams.size,
    waitForStreams: (count) =>
      resumes.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
