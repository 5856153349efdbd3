/**
 * S4: whole runs through API → BullMQ → worker → Redis → gateway → client, one at a time: POST → 202,
 * POST → first token at the client, and queue pickup (client-side gap between the `queued` status the
 * API publishes and the `running` status the worker publishes once it took the job).
 */
import http from "node:http";
import * as hdr from "hdr-histogram-js";
import type { ParentEnv } from "./processes.js";
import { startService } from "./services.js";
import { nowUs } from "./sse-parse.js";
import { openSseProbe } from "./sse-probe.js";

/** One S4 measurement: which code ran the API and worker, and the worker's TOKEN_COALESCE_MS. */
export interface E2eRun extends E2eOutcome {
  code: string;
  coalesce: "default" | "0";
}

/**
 * S4 for one checkout: its API and worker (the gateway is the caller's), once with the worker's
 * defaults and once with TOKEN_COALESCE_MS=0 (no coalescing at all).
 */
export async function runS4(options: {
  repoRoot: string;
  parentEnv: ParentEnv;
  redisUrl: string;
  core: number | undefined;
  gatewayUrl: string;
  token: string;
  runs: number;
  code: string;
  tag: string;
}): Promise<E2eRun[]> {
  const env = {
    repoRoot: options.repoRoot,
    parentEnv: options.parentEnv,
    redisUrl: options.redisUrl,
    core: options.core,
  };
  const api = await startService("api", env);
  const out: E2eRun[] = [];
  try {
    for (const coalesce of ["default", "0"] as const) {
      const worker = await startService(
        "worker",
        coalesce === "0" ? { ...env, env: { TOKEN_COALESCE_MS: "0" } } : env,
      );
      try {
        const outcome = await runE2eScenario({
          apiUrl: api.url,
          gatewayUrl: options.gatewayUrl,
          token: options.token,
          runs: options.runs,
          tokensPerSecond: 0,
          maxTokens: 64,
          tag: `${options.tag}-${coalesce}`,
        });
        out.push({ code: options.code, coalesce, ...outcome });
        console.log(
          `  S4 (${options.code}, TOKEN_COALESCE_MS=${coalesce}) POST → first token p50 ${outcome.firstTokenMs.p50} ms, pickup p50 ${outcome.queuePickupMs.p50} ms, running → first token p50 ${outcome.runningToTokenMs.p50} ms`,
        );
      } finally {
        await worker.proc.stop();
      }
    }
  } finally {
    await api.proc.stop();
  }
  return out;
}

export interface E2eOutcome {
  runs: number;
  failed: number;
  firstError?: string;
  postAcceptedMs: Percentiles;
  firstTokenMs: Percentiles;
  queuePickupMs: Percentiles;
  /** POST sent → `status running` at the client (the worker has the job). */
  runningMs: Percentiles;
  /** `status running` → first `token` at the client, per run: the worker's part before the answer. */
  runningToTokenMs: Percentiles;
  runCompleteMs: Percentiles;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface E2eOptions {
  apiUrl: string;
  gatewayUrl: string;
  token: string;
  runs: number;
  tokensPerSecond: number;
  maxTokens: number;
  tag: string;
}

export async function runE2eScenario(options: E2eOptions): Promise<E2eOutcome> {
  const build = () =>
    hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 120_000_000,
      numberOfSignificantValueDigits: 3,
    });
  const h = {
    accepted: build(),
    token: build(),
    pickup: build(),
    running: build(),
    runningToToken: build(),
    complete: build(),
  };
  const headers = { authorization: `Bearer ${options.token}` };
  let failed = 0;
  let firstError: string | undefined;
  // Run -1 warms up the path (JIT, BullMQ scripts, first connections) and is not recorded.
  for (let i = -1; i < options.runs; i++) {
    const thread = `${options.tag}-${i}`;
    const probe = await openSseProbe(`${options.gatewayUrl}/v1/threads/${thread}/events`, headers);
    try {
      const t0 = nowUs();
      const body = {
        agent: "demo",
        input: {
          prompt: `bench run ${i}`,
          tokensPerSecond: options.tokensPerSecond,
          maxTokens: options.maxTokens,
        },
      };
      const status = await post(`${options.apiUrl}/v1/threads/${thread}/runs`, body, headers);
      const accepted = nowUs();
      if (status !== 202) throw new Error(`POST run answered ${status}`);
      await withTimeout(probe.done, 30_000, "the run did not finish within 30 s");
      const token = probe.firsts.get("token");
      const queued = probe.firsts.get("status:queued");
      const running = probe.firsts.get("status:running");
      const done = probe.firsts.get("done");
      if (!token || !queued || !running || !done)
        throw new Error(`missing events: saw ${[...probe.firsts.keys()].join(", ")}`);
      if (i < 0) continue;
      h.accepted.recordValue(accepted - t0);
      h.token.recordValue(token - t0);
      h.pickup.recordValue(Math.max(1, running - queued));
      h.running.recordValue(running - t0);
      h.runningToToken.recordValue(Math.max(1, token - running));
      h.complete.recordValue(done - t0);
    } catch (error) {
      failed++;
      firstError ??= (error as Error).message;
    } finally {
      probe.close();
    }
  }
  const pct = (x: ReturnType<typeof build>): Percentiles => ({
    p50: ms(x.getValueAtPercentile(50)),
    p90: ms(x.getValueAtPercentile(90)),
    p99: ms(x.getValueAtPercentile(99)),
    max: ms(x.maxValue),
  });
  return {
    runs: options.runs,
    failed,
    firstError,
    postAcceptedMs: pct(h.accepted),
    firstTokenMs: pct(h.token),
    queuePickupMs: pct(h.pickup),
    runningMs: pct(h.running),
    runningToTokenMs: pct(h.runningToToken),
    runCompleteMs: pct(h.complete),
  };
}

const agent = new http.Agent({ keepAlive: true });

/** POSTs JSON over a keep-alive agent; resolves with the status once the answer was read. */
export function post(url: string, body: unknown, headers: Record<string, string>): Promise<number> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(message)), timeoutMs)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const ms = (us: number) => Math.round(us) / 1000;
