/** One SSE connection for S4: resolves once the 200 is in, records when each event type first arrives. */
import http from "node:http";
import { createSseDataReader, nowUs } from "./sse-parse.js";

export interface SseProbe {
  /** First arrival (µs, monotonic) per key: `status:<state>` or the event type. */
  firsts: Map<string, number>;
  events: number;
  done: Promise<void>;
  close(): void;
}

export function openSseProbe(url: string, headers: Record<string, string>): Promise<SseProbe> {
  return new Promise((resolve, reject) => {
    let finish: () => void = () => {};
    const probe: SseProbe = {
      firsts: new Map(),
      events: 0,
      done: new Promise<void>((r) => (finish = r)),
      close: () => req.destroy(),
    };
    const req = http.get(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE ${url} answered ${res.statusCode}`));
        return;
      }
      res.setEncoding("utf8");
      const reader = createSseDataReader((data) => {
        const at = nowUs();
        const event = JSON.parse(data) as { type: string; content?: { state?: string } };
        probe.events++;
        const key = event.type === "status" ? `status:${event.content?.state}` : event.type;
        if (!probe.firsts.has(key)) probe.firsts.set(key, at);
        if (event.type === "done") finish();
      });
      res.on("data", (chunk: string) => reader.push(chunk));
      res.on("end", finish);
      resolve(probe);
    });
    req.on("error", reject);
  });
}
