/**
 * One load-client thread: holds its share of the SSE connections, checks every event against the
 * per-thread counter the publisher puts in it, and keeps an HdrHistogram of publish→receive latency.
 */
import http from "node:http";
import { parentPort } from "node:worker_threads";
import * as hdr from "hdr-histogram-js";
import type { ClientReply, ClientRequest, ConnSpec, StepStats } from "./client-protocol.js";
import { createSseDataReader, nowUs, readBenchContent } from "./sse-parse.js";

interface Conn {
  spec: ConnSpec;
  req?: http.ClientRequest;
  seen: Uint8Array;
  max: number;
  unique: number;
  dup: number;
  reorder: number;
  warm: boolean;
  open: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
const conns: Conn[] = [];
let step = 0;
let histogram = newHistogram();
let stale = 0;
let closedEarly = 0;
/** When the current step began (µs, monotonic) and the worst latency seen in each second since. */
let stepStartUs = nowUs();
let maxBySecond: number[] = [];
const errors: string[] = [];

function newHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function onData(conn: Conn, data: string): void {
  const payload = readBenchContent(data);
  if (!payload) return;
  if (payload.step !== step) {
    if (payload.step === 0) conn.warm = true;
    else stale++;
    return;
  }
  if (step === 0) {
    conn.warm = true;
    return;
  }
  const n = payload.n;
  if (n >= conn.seen.length) {
    const grown = new Uint8Array(Math.max(n + 1, conn.seen.length * 2));
    grown.set(conn.seen);
    conn.seen = grown;
  }
  if (conn.seen[n] === 1) {
    conn.dup++;
    return;
  }
  conn.seen[n] = 1;
  conn.unique++;
  if (n < conn.max) conn.reorder++;
  else conn.max = n;
  const now = nowUs();
  const latency = Math.max(1, now - payload.sentUs);
  histogram.recordValue(latency);
  // Per-second worst case: a stall of tens of ms every few seconds shows here even when p99 hides it.
  const second = Math.floor((now - stepStartUs) / 1_000_000);
  if (latency > (maxBySecond[second] ?? 0)) maxBySecond[second] = latency;
}

function openOne(spec: ConnSpec): Promise<Conn> {
  const conn: Conn = {
    spec,
    seen: new Uint8Array(64),
    max: 0,
    unique: 0,
    dup: 0,
    reorder: 0,
    warm: false,
    open: false,
  };
  return new Promise((resolve, reject) => {
    // A server out of descriptors may never answer: give up on the connect, not the whole bench.
    const timer = setTimeout(() => req.destroy(new Error("no response within 20 s")), 20_000);
    const req = http.get(
      spec.url,
      { agent, headers: { accept: "text/event-stream", ...spec.headers } },
      (res) => {
        clearTimeout(timer);
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode} from ${spec.url.replace(/\?.*/, "")}`));
          return;
        }
        conn.open = true;
        res.setEncoding("utf8");
        const reader = createSseDataReader((data) => onData(conn, data));
        res.on("data", (chunk: string) => reader.push(chunk));
        res.on("end", () => markClosed(conn));
        res.on("error", () => markClosed(conn));
        resolve(conn);
      },
    );
    conn.req = req;
    req.on("error", (error) => {
      clearTimeout(timer);
      if (!conn.open) reject(error);
      else markClosed(conn);
    });
  });
}

function markClosed(conn: Conn): void {
  if (!conn.open) return;
  conn.open = false;
  closedEarly++;
}

async function openAll(specs: ConnSpec[], concurrency: number): Promise<{ ok: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, specs.length) }, async () => {
      while (next < specs.length) {
        const spec = specs[next++] as ConnSpec;
        try {
          conns.push(await openOne(spec));
          ok++;
        } catch (error) {
          failed++;
          if (errors.length < 5) errors.push((error as Error).message);
        }
      }
    }),
  );
  return { ok, failed };
}

function collect(expectedByThread: number[]): StepStats {
  let received = 0;
  let lost = 0;
  let dup = 0;
  let reorder = 0;
  for (const conn of conns) {
    const expected = expectedByThread[conn.spec.thread] ?? 0;
    received += conn.unique;
    lost += Math.max(0, expected - conn.unique);
    dup += conn.dup;
    reorder += conn.reorder;
  }
  return {
    received,
    lost,
    dup,
    reorder,
    stale,
    closed: closedEarly,
    histogram: hdr.encodeIntoCompressedBase64(histogram),
    maxBySecondUs: Array.from(maxBySecond, (x) => x ?? 0),
  };
}

function handle(message: ClientRequest): Promise<ClientReply> | ClientReply {
  switch (message.op) {
    case "open":
      return openAll(message.conns, message.concurrency).then((r) => ({ ...r, errors: errors.splice(0) }));
    case "step":
      step = message.step;
      stale = 0;
      histogram = newHistogram();
      stepStartUs = nowUs();
      maxBySecond = [];
      for (const conn of conns) {
        conn.seen.fill(0);
        conn.max = 0;
        conn.unique = 0;
        conn.dup = 0;
        conn.reorder = 0;
      }
      return { ok: conns.length, failed: 0, errors: [] };
    case "counts": {
      let warm = 0;
      let open = 0;
      let received = 0;
      for (const conn of conns) {
        if (conn.warm) warm++;
        if (conn.open) open++;
        received += conn.unique;
      }
      return { warm, open, received };
    }
    case "collect":
      return collect(message.expectedByThread);
    case "close":
      for (const conn of conns) conn.req?.destroy();
      conns.length = 0;
      closedEarly = 0;
      agent.destroy();
      return { ok: 0, failed: 0, errors: [] };
  }
}

parentPort?.on("message", async (message: ClientRequest & { id: number }) => {
  const reply = await handle(message);
  parentPort?.postMessage({ id: message.id, reply });
});
