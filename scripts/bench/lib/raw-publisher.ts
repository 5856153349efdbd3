/**
 * The "raw" publisher: puts on `thread:<id>` the same bytes the publish script would (a valid token
 * event with `id` and `seq`), but with plain PUBLISH, auto-pipelined by ioredis, and no log append.
 * The script costs Redis ~70 µs per event on the core it shares with the load client, which capped
 * every ramp at ~14k events/s before any server under test was busy; PUBLISH alone lets the ramps
 * reach the servers' own ceilings. Ids grow per thread, so the gateway's duplicate check
 * (`compareIds` against the stream's cursor) runs as it does for script-published events.
 */
import { Redis } from "ioredis";
import type { PublishFn } from "./paced-publisher.js";

export interface RawPublisher {
  publish: PublishFn;
  close(): void;
}

export function createRawPublisher(redisUrl: string): RawPublisher {
  const client = new Redis(redisUrl, { enableAutoPipelining: true, connectionName: "bench-raw-publisher" });
  // The millisecond part of every id: fixed, so the counter alone orders a thread's events.
  const idMs = Date.now();
  const seqByThread = new Map<string, number>();
  return {
    publish(thread, content) {
      const seq = (seqByThread.get(thread) ?? 0) + 1;
      seqByThread.set(thread, seq);
      return client.publish(`thread:${thread}`, rawEvent(thread, `${idMs}-${seq}`, seq, content));
    },
    close: () => client.disconnect(),
  };
}

/** The channel message publishEvent-2.lua produces for a token event of run "bench". */
export function rawEvent(thread: string, id: string, seq: number, content: string): string {
  const body = JSON.stringify({ type: "token", threadId: thread, runId: "bench", ts: Date.now(), content });
  return `{"id":"${id}","seq":${seq},${body.slice(1)}`;
}
