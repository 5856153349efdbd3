/** Coordinates the load-client threads: spreads connections over them and merges their stats. */
import { Worker } from "node:worker_threads";
import * as hdr from "hdr-histogram-js";
import type { ClientReply, ClientRequest, ConnSpec, Counts, StepStats } from "./client-protocol.js";

export interface StepResult extends Omit<StepStats, "histogram" | "maxBySecondUs"> {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** The worst latency (ms) among events received in each second of the step (and its drain). */
  maxBySecondMs: number[];
  /** The same counts for each load-client thread. */
  perThread: { received: number; lost: number; dup: number; reorder: number; closed: number }[];
}

export interface LoadClient {
  open(specs: ConnSpec[]): Promise<{ ok: number; failed: number; errors: string[] }>;
  beginStep(step: number): Promise<void>;
  counts(): Promise<Counts>;
  collect(expectedByThread: number[]): Promise<StepResult>;
  close(): Promise<void>;
}

export function createLoadClient(threadCount: number): LoadClient {
  const workers = Array.from({ length: threadCount }, () =>
    rpc(new Worker(new URL("./client-worker-boot.mjs", import.meta.url))),
  );
  const all = <T extends ClientReply>(message: ClientRequest | ((i: number) => ClientRequest)) =>
    Promise.all(
      workers.map((w, i) => w.call(typeof message === "function" ? message(i) : message) as Promise<T>),
    );
  return {
    async open(specs) {
      const replies = await all<{ ok: number; failed: number; errors: string[] }>((i) => ({
        op: "open",
        conns: specs.filter((_, k) => k % threadCount === i),
        concurrency: 64,
      }));
      return {
        ok: sum(replies.map((r) => r.ok)),
        failed: sum(replies.map((r) => r.failed)),
        errors: replies.flatMap((r) => r.errors),
      };
    },
    async beginStep(step) {
      await all({ op: "step", step });
    },
    async counts() {
      const replies = await all<Counts>({ op: "counts" });
      return {
        warm: sum(replies.map((r) => r.warm)),
        open: sum(replies.map((r) => r.open)),
        received: sum(replies.map((r) => r.received)),
      };
    },
    async collect(expectedByThread) {
      const replies = await all<StepStats>({ op: "collect", expectedByThread });
      const merged = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 120_000_000,
        numberOfSignificantValueDigits: 3,
      });
      for (const r of replies) merged.add(hdr.decodeFromCompressedBase64(r.histogram));
      const ms = (p: number) => round(merged.getValueAtPercentile(p) / 1000);
      return {
        received: sum(replies.map((r) => r.received)),
        lost: sum(replies.map((r) => r.lost)),
        dup: sum(replies.map((r) => r.dup)),
        reorder: sum(replies.map((r) => r.reorder)),
        stale: sum(replies.map((r) => r.stale)),
        closed: sum(replies.map((r) => r.closed)),
        p50Ms: ms(50),
        p90Ms: ms(90),
        p99Ms: ms(99),
        p999Ms: ms(99.9),
        maxMs: round(merged.maxValue / 1000),
        maxBySecondMs: mergeMax(replies.map((r) => r.maxBySecondUs)).map((us) => round(us / 1000)),
        perThread: replies.map(({ received, lost, dup, reorder, closed }) => ({
          received,
          lost,
          dup,
          reorder,
          closed,
        })),
      };
    },
    async close() {
      await all({ op: "close" });
      await Promise.all(workers.map((w) => w.worker.terminate()));
    },
  };
}

function rpc(worker: Worker) {
  let nextId = 0;
  const pending = new Map<
    number,
    { resolve: (reply: ClientReply) => void; reject: (error: Error) => void }
  >();
  worker.on("message", ({ id, reply }: { id: number; reply: ClientReply }) => {
    pending.get(id)?.resolve(reply);
    pending.delete(id);
  });
  worker.on("error", (error) => {
    for (const p of pending.values()) p.reject(new Error(`load-client thread failed: ${error.message}`));
    pending.clear();
  });
  return {
    worker,
    call(message: ClientRequest): Promise<ClientReply> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ ...message, id });
      });
    },
  };
}

/** Element-wise maximum of the threads' per-second maxima. */
function mergeMax(lists: number[][]): number[] {
  const length = Math.max(0, ...lists.map((l) => l.length));
  return Array.from({ length }, (_, i) => Math.max(0, ...lists.map((l) => l[i] ?? 0)));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round = (x: number) => Math.round(x * 1000) / 1000;
