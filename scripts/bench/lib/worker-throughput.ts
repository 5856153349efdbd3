/**
 * S5 (whole worker): runs queued through the API first, then ONE worker process started with them
 * waiting; counts every event it publishes (a pattern subscriber on `thread:*`) from its first event
 * to the last run's `done`.
 */
import http from "node:http";
import { Redis } from "ioredis";
import { type ParentEnv, processCpuMs } from "./processes.js";
import { startService } from "./services.js";

export interface WorkerThroughput {
  runs: number;
  concurrency: number;
  tokensPerRun: number;
  coalesceMs: number;
  events: number;
  /** Demo tokens carried per second (several per event when coalescing). */
  tokensPerSec: number;
  seconds: number;
  eventsPerSec: number;
  /** CPU per published event while the runs ran: where one worker's throughput goes. */
  workerCpuUsPerEvent: number;
  redisCpuUsPerEvent: number;
  /** Share of a core each used over the same time (100 = one core busy). */
  workerCpuPercent: number;
  redisCpuPercent: number;
  /**
   * The bench's own process over the same time: its pattern subscriber receives every event. It
   * shares the machine with the worker and Redis, so at high rates it competes with what it measures.
   */
  subscriberCpuPercent: number;
}

export async function measureWorkerThroughput(options: {
  repoRoot: string;
  parentEnv: ParentEnv;
  redisUrl: string;
  core?: number;
  token: string;
  runs: number;
  tokensPerRun: number;
  coalesceMs: number;
  tag: string;
  /** The bench's redis-server, to read its CPU time. */
  redisPid: number;
}): Promise<WorkerThroughput> {
  const concurrency = options.runs;
  const api = await startService("api", {
    repoRoot: options.repoRoot,
    parentEnv: options.parentEnv,
    redisUrl: options.redisUrl,
  });
  const sub = new Redis(options.redisUrl);
  let events = 0;
  let first = 0;
  let last = 0;
  let done = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((r) => (allDone = r));
  try {
    for (let i = 0; i < options.runs; i++) {
      const body = {
        agent: "demo",
        input: { prompt: `throughput ${i}`, tokensPerSecond: 0, maxTokens: options.tokensPerRun },
      };
      const status = await post(`${api.url}/v1/threads/${options.tag}-${i}/runs`, body, options.token);
      if (status !== 202) throw new Error(`POST run answered ${status}`);
    }
    await sub.psubscribe("thread:*");
    sub.on("pmessage", (_p: string, _c: string, message: string) => {
      const now = performance.now();
      if (message.includes('"state":"queued"')) return;
      if (events === 0) first = now;
      events++;
      if (message.includes('"type":"done"')) {
        done++;
        last = now;
        if (done === options.runs) allDone();
      }
    });
    const worker = await startService("worker", {
      repoRoot: options.repoRoot,
      parentEnv: options.parentEnv,
      redisUrl: options.redisUrl,
      core: options.core,
      env: { WORKER_CONCURRENCY: String(concurrency), TOKEN_COALESCE_MS: String(options.coalesceMs) },
    });
    const cpu0 = {
      worker: worker.proc.cpuMs(),
      redis: processCpuMs(options.redisPid),
      subscriber: process.cpuUsage(),
      at: performance.now(),
    };
    let timer: NodeJS.Timeout | undefined;
    let cpu = { worker: 0, redis: 0, subscriber: 0, ms: 0 };
    try {
      await Promise.race([
        finished,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("runs did not finish in 120 s")), 120_000);
        }),
      ]);
      cpu = {
        worker: worker.proc.cpuMs() - cpu0.worker,
        redis: processCpuMs(options.redisPid) - cpu0.redis,
        subscriber: cpuMs(process.cpuUsage(cpu0.subscriber)),
        ms: performance.now() - cpu0.at,
      };
    } finally {
      clearTimeout(timer);
      await worker.proc.stop();
    }
    const seconds = (last - first) / 1000;
    return {
      runs: options.runs,
      concurrency,
      tokensPerRun: options.tokensPerRun,
      coalesceMs: options.coalesceMs,
      tokensPerSec: Math.round((options.runs * options.tokensPerRun) / seconds),
      events,
      seconds: Math.round(seconds * 1000) / 1000,
      eventsPerSec: Math.round(events / seconds),
      workerCpuUsPerEvent: Math.round((10 * 1000 * cpu.worker) / events) / 10,
      redisCpuUsPerEvent: Math.round((10 * 1000 * cpu.redis) / events) / 10,
      workerCpuPercent: Math.round((100 * cpu.worker) / cpu.ms),
      redisCpuPercent: Math.round((100 * cpu.redis) / cpu.ms),
      subscriberCpuPercent: Math.round((100 * cpu.subscriber) / cpu.ms),
    };
  } finally {
    sub.disconnect();
    await api.proc.stop();
  }
}

function post(url: string, body: unknown, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}
