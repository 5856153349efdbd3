/**
 * S1/S2: connections spread over threads, a publish rate ramped step by step; each step reports
 * deliveries/s, latency percentiles (and the worst latency of each second), lost/duplicated/reordered
 * events and the server's CPU. A step passes with p99 < 50 ms, nothing lost or duplicated and the
 * publisher at the asked rate. A step that fails on latency alone does not end the ramp (CPU per
 * delivery at the higher rates still compares the servers, and a stall at one rate may pass at the
 * next); the ramp ends at a step that loses events, falls short of the rate, or has p99 ≥ 1 s.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnSpec } from "./client-protocol.js";
import { createLoadClient, type StepResult } from "./load-client.js";
import { drive, type PublishFn } from "./paced-publisher.js";
import type { Target } from "./targets.js";

export interface StreamScenario {
  name: string;
  threads: number;
  clientsPerThread: number;
  rates: number[];
  stepMs: number;
  drainMs: number;
  clientThreads: number;
  p99LimitMs: number;
}

/** A ramp step failing only on p99 below this keeps the ramp going. */
const RAMP_ON_P99_MS = 1_000;

export interface StreamStep extends StepResult {
  rate: number;
  achievedRate: number;
  sent: number;
  publishErrors: number;
  deliveriesPerSec: number;
  /** Server CPU (user + system) per delivered event during the step and its drain. */
  serverCpuUsPerDelivery: number;
  /** Server CPU time ÷ wall time over the step and its drain (100 = one core busy). */
  serverCpuPercent: number;
  /** The kernel's share (%) of that CPU time: system calls, network stack. */
  serverSystemCpuShare: number;
  /** The server's read and write system calls per delivery (/proc/<pid>/io): batching shows here. */
  serverReadsPerDelivery: number;
  serverWritesPerDelivery: number;
  pass: boolean;
  why?: string;
}

export interface StreamOutcome {
  target: string;
  /** How events were published: "raw" (pipelined PUBLISH), "script" (the Lua script) or "nchan". */
  publisher: string;
  connections: number;
  connectFailures: number;
  connectErrors: string[];
  steps: StreamStep[];
  /** The deliveries/s of the highest step that passed with every step below it (0 when none). */
  bestDeliveriesPerSec: number;
  bestRate: number;
  /** The highest rate that passed at all (a step past a latency-only failure may pass). */
  highestPassingRate: number;
}

export async function runStreamScenario(
  scenario: StreamScenario,
  target: Target,
  publisher: { name: string; publish: PublishFn },
  tag: string,
): Promise<StreamOutcome> {
  const { publish } = publisher;
  const threads = Array.from({ length: scenario.threads }, (_, i) => `${tag}-${i}`);
  const specs: ConnSpec[] = threads.flatMap((thread, i) =>
    Array.from({ length: scenario.clientsPerThread }, () => ({
      url: target.sseUrl(thread),
      headers: target.headers,
      thread: i,
    })),
  );
  const client = createLoadClient(scenario.clientThreads);
  const outcome: StreamOutcome = {
    target: target.key,
    publisher: publisher.name,
    connections: specs.length,
    connectFailures: 0,
    connectErrors: [],
    steps: [],
    bestDeliveriesPerSec: 0,
    bestRate: 0,
    highestPassingRate: 0,
  };
  try {
    const opened = await client.open(specs);
    outcome.connectFailures = opened.failed;
    outcome.connectErrors = opened.errors;
    if (opened.failed > 0) return outcome;
    await warmUp(client, threads, publish, specs.length);
    // One unrecorded step at the first rate: JIT and buffers warm up outside the measured steps.
    await client.beginStep(1);
    await drive({
      rate: scenario.rates[0] ?? 1_000,
      durationMs: Math.min(scenario.stepMs, 2_000),
      threads,
      step: 1,
      publish,
      maxInFlight: target.publishVia === "nchan" ? 512 : 4096,
      serialPerThread: target.publishVia === "nchan" && threads.length > 1,
    });
    await sleep(500);
    let step = 2;
    let allPassed = true;
    for (const rate of scenario.rates) {
      await client.beginStep(step);
      const cpuBefore = target.proc.cpuMs();
      const sysBefore = target.proc.systemCpuMs();
      const ioBefore = target.proc.syscalls();
      const wallBefore = performance.now();
      const driven = await drive({
        rate,
        durationMs: scenario.stepMs,
        threads,
        step,
        publish,
        maxInFlight: target.publishVia === "nchan" ? 512 : 4096,
        // Parallel POSTs to one channel may reorder; with many channels keep one in flight per channel.
        serialPerThread: target.publishVia === "nchan" && threads.length > 1,
      });
      const expectedTotal = driven.expectedByThread.reduce((a, b) => a + b, 0) * scenario.clientsPerThread;
      const deadline = Date.now() + scenario.drainMs;
      while (Date.now() < deadline && (await client.counts()).received < expectedTotal) await sleep(50);
      const cpuMs = target.proc.cpuMs() - cpuBefore;
      const sysMs = target.proc.systemCpuMs() - sysBefore;
      const wallMs = performance.now() - wallBefore;
      const ioAfter = target.proc.syscalls();
      const result = await client.collect(driven.expectedByThread);
      const stepResult: StreamStep = {
        rate,
        achievedRate: driven.achievedRate,
        sent: driven.sent,
        publishErrors: driven.errors,
        deliveriesPerSec: Math.round(result.received / (scenario.stepMs / 1000)),
        serverCpuUsPerDelivery:
          result.received > 0 ? Math.round((cpuMs * 1000 * 10) / result.received) / 10 : 0,
        serverCpuPercent: Math.round((100 * cpuMs) / wallMs),
        serverSystemCpuShare: cpuMs > 0 ? Math.round((100 * sysMs) / cpuMs) : 0,
        serverReadsPerDelivery: perDelivery(ioAfter.reads - ioBefore.reads, result.received),
        serverWritesPerDelivery: perDelivery(ioAfter.writes - ioBefore.writes, result.received),
        ...result,
        pass: true,
      };
      stepResult.why = failure(stepResult, scenario.p99LimitMs, driven.firstError);
      stepResult.pass = stepResult.why === undefined;
      outcome.steps.push(stepResult);
      const worstSecond = Math.max(0, ...result.maxBySecondMs);
      const line = `  ${target.key}/${publisher.name} ${scenario.name} ${rate}/s: sent ${driven.achievedRate}/s, deliveries ${stepResult.deliveriesPerSec}/s, server ${stepResult.serverCpuUsPerDelivery} µs CPU/delivery (${stepResult.serverCpuPercent} % core, ${stepResult.serverSystemCpuShare} % of it kernel, ${stepResult.serverReadsPerDelivery} reads + ${stepResult.serverWritesPerDelivery} writes/delivery), p50 ${result.p50Ms} p99 ${result.p99Ms} ms, per-second max ${result.maxBySecondMs.map(Math.round).join("/")} ms, lost ${result.lost} dup ${result.dup} reord ${result.reorder}${stepResult.why ? ` FAIL (${stepResult.why})` : ""}`;
      console.log(line);
      if (stepResult.pass) {
        outcome.highestPassingRate = rate;
        if (allPassed) {
          outcome.bestDeliveriesPerSec = stepResult.deliveriesPerSec;
          outcome.bestRate = driven.achievedRate;
        }
      } else {
        allPassed = false;
        const latencyOnly = stepResult.why?.startsWith("p99") && result.p99Ms < RAMP_ON_P99_MS;
        if (!latencyOnly) break;
        // Let a latency-bound server's backlog clear before the next, higher step.
        if (worstSecond > 200) await sleep(Math.min(worstSecond, 2_000));
      }
      step++;
    }
    return outcome;
  } finally {
    await client.close();
  }
}

async function warmUp(
  client: ReturnType<typeof createLoadClient>,
  threads: string[],
  publish: PublishFn,
  total: number,
) {
  // Some servers answer 200 before their subscription is live: publish step-0 events until every
  // connection has seen one, so no measured step starts with a subscriber still joining.
  await client.beginStep(0);
  const deadline = Date.now() + 30_000;
  for (;;) {
    await Promise.all(threads.map((t) => publish(t, `0|0|0`)));
    await sleep(200);
    const { warm } = await client.counts();
    if (warm >= total) return;
    if (Date.now() > deadline)
      throw new Error(`only ${warm} of ${total} connections received the warm-up events within 30 s`);
  }
}

function perDelivery(count: number, deliveries: number): number {
  return deliveries > 0 ? Math.round((100 * count) / deliveries) / 100 : 0;
}

function failure(step: StreamStep, p99LimitMs: number, firstError?: string): string | undefined {
  if (step.publishErrors > 0) return `${step.publishErrors} publish errors: ${firstError}`;
  if (step.achievedRate < step.rate * 0.95) return `publisher reached only ${step.achievedRate}/s`;
  if (step.lost > 0) return `${step.lost} lost`;
  if (step.dup > 0) return `${step.dup} duplicated`;
  if (step.closed > 0) return `${step.closed} connections closed by the server`;
  if (step.p99Ms >= p99LimitMs) return `p99 ${step.p99Ms} ms`;
  return undefined;
}
