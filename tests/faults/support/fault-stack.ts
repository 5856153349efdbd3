import { readFileSync } from "node:fs";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { type RedisServer, startRedisServer } from "@threadline/testing";
import {
  type ServiceInstance,
  startTopology,
  type Topology,
} from "../../../scripts/topology/start-topology.js";
import { type Exposition, parseExposition } from "../../support/prometheus-text.js";
import { STACK_ENV } from "../../support/stack.js";
import type { ReceivedEvent } from "./resuming-client.js";

/** Gateways send `: keepalive` this often; the resuming client gives up on a silent socket after 3×. */
export const HEARTBEAT_MS = 400;
export const HEARTBEAT_TIMEOUT_MS = HEARTBEAT_MS * 4;

export const TOKEN = signDevToken(DEV_JWT_SECRET, { sub: "fault-tests", threads: ["*"], ttlSeconds: 3600 });
export const BEARER = `Bearer ${TOKEN}`;

export interface FaultStack {
  redis: RedisServer;
  topology: Topology;
  api: ServiceInstance;
  gateways: ServiceInstance[];
  workers: ServiceInstance[];
  /** One more gateway on the same Redis (e.g. after one was killed). */
  addGateway(env?: Record<string, string>): Promise<Topology>;
  /** One more worker on the same Redis and queue. */
  addWorker(env?: Record<string, string>): Promise<Topology>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real Redis of its own (so it can be killed and restarted) plus real gateway/api/worker processes
 * from scripts/topology, with short heartbeats and fast stalled-job detection.
 */
export async function startFaultStack(options: {
  gateways?: number;
  workers?: number;
  apis?: number;
  appendOnly?: boolean;
  env?: Record<string, string>;
  envFor?: {
    gateway?: Record<string, string>;
    api?: Record<string, string>;
    worker?: Record<string, string>;
  };
  /** Env of one instance (1-based), e.g. a small SSE_MAX_BUFFER_BYTES on gateway 3 only. */
  instanceEnv?: (kind: "gateway" | "api" | "worker", index: number) => Record<string, string> | undefined;
}): Promise<FaultStack> {
  const redis = await startRedisServer({ appendOnly: options.appendOnly ?? false });
  const env = {
    ...STACK_ENV,
    LOG_LEVEL: "warn",
    HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
    ...options.env,
  };
  const extra: Topology[] = [];
  let topology: Topology;
  try {
    topology = await startTopology({
      gateways: options.gateways ?? 1,
      apis: options.apis ?? 1,
      workers: options.workers ?? 1,
      nginx: false,
      redis: { url: redis.url },
      env,
      envFor: options.envFor ?? {},
      ...(options.instanceEnv ? { instanceEnv: options.instanceEnv } : {}),
      readyTimeoutMs: 90_000,
    });
  } catch (error) {
    await redis.dispose();
    throw error;
  }
  const add = async (kind: "gateway" | "worker", more: Record<string, string>) => {
    const added = await startTopology({
      gateways: kind === "gateway" ? 1 : 0,
      apis: 0,
      workers: kind === "worker" ? 1 : 0,
      nginx: false,
      redis: { url: redis.url },
      env: { ...env, ...more },
      readyTimeoutMs: 90_000,
    });
    extra.push(added);
    return added;
  };
  const all = () => [topology, ...extra].flatMap((t) => [...t.gateways, ...t.apis, ...t.workers]);
  return {
    redis,
    topology,
    api: topology.apis[0]!,
    gateways: topology.gateways,
    workers: topology.workers,
    addGateway: (more = {}) => add("gateway", { ...options.envFor?.gateway, ...more }),
    addWorker: (more = {}) => add("worker", { ...options.envFor?.worker, ...more }),
    logs: () =>
      all()
        .map((s) => `----- ${s.name} -----\n${s.process.output()}`)
        .join("\n"),
    async stop() {
      for (const t of [...extra, topology]) await t.stop();
      await redis.dispose();
    },
  };
}

/** Starts a demo run through the API; returns its id. */
export async function startDemoRun(
  apiUrl: string,
  threadId: string,
  input: { prompt: string; tokensPerSecond?: number; maxTokens?: number },
): Promise<string> {
  const res = await fetch(`${apiUrl}/v1/threads/${threadId}/runs`, {
    method: "POST",
    headers: { authorization: BEARER, "content-type": "application/json" },
    body: JSON.stringify({ agent: "demo", input }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { runId?: string };
  if (res.status !== 202 || !body.runId) throw new Error(`POST runs: ${res.status} ${JSON.stringify(body)}`);
  return body.runId;
}

/** The thread's whole replay log, read through the API's JSON pages. */
export async function readThreadLog(apiUrl: string, threadId: string): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  let after = "0";
  for (;;) {
    const res = await fetch(`${apiUrl}/v1/threads/${threadId}/events?after=${after}&limit=1000`, {
      headers: { authorization: BEARER, accept: "application/json" },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { events?: ReceivedEvent[]; nextAfter: string; more: boolean };
    if (res.status !== 200 || !body.events)
      throw new Error(`GET events: ${res.status} ${JSON.stringify(body)}`);
    events.push(...body.events);
    if (!body.more) return events;
    after = body.nextAfter;
  }
}

/** GET a service's run record. */
export async function readRun(
  apiUrl: string,
  threadId: string,
  runId: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${apiUrl}/v1/threads/${threadId}/runs/${runId}`, {
    headers: { authorization: BEARER },
    signal: AbortSignal.timeout(10_000),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** A service's /metrics, parsed. */
export async function readMetrics(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return parseExposition(await res.text());
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Resolves after `ms` (only to let a run get going before a fault, never to wait for an outcome). */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
