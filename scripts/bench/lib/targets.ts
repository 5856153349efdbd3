/**
 * The servers under test, each started fresh and pinned to the server core. `dedicated@base` and
 * `shared@base` are the gateway of another checkout (`--baseline`), measured in the same run, so a
 * change is judged side by side with the code before it under the same machine load.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { nchanConfig } from "./nchan-config.js";
import { type ParentEnv, type Proc, startPinned } from "./processes.js";

export const TARGETS = ["dedicated", "shared", "floorA", "floorB", "nchan"] as const;
export const BASELINE_TARGETS = ["dedicated@base", "shared@base"] as const;
export type TargetKey = (typeof TARGETS)[number] | (typeof BASELINE_TARGETS)[number];

export const TARGET_LABELS: Record<TargetKey, string> = {
  dedicated: "Threadline gateway, SUBSCRIBER_MODE=dedicated",
  shared: "Threadline gateway, SUBSCRIBER_MODE=shared",
  "dedicated@base": "the --baseline checkout's gateway, SUBSCRIBER_MODE=dedicated",
  "shared@base": "the --baseline checkout's gateway, SUBSCRIBER_MODE=shared",
  floorA: "floor A: raw node:http + ioredis, subscriber per client",
  floorB: "floor B: raw node:http + ioredis, one shared subscriber",
  nchan: "peer: nginx + Nchan, Redis storage",
};

export interface Target {
  key: TargetKey;
  proc: Proc;
  sseUrl(thread: string): string;
  headers: Record<string, string>;
  /** "redis": events go to Redis (raw PUBLISH or the publish script); "nchan": POST to its publisher. */
  publishVia: "redis" | "nchan";
  publishUrl?: (thread: string) => string;
  stop(): Promise<void>;
}

export interface TargetContext {
  repoRoot: string;
  /** What the servers inherit: the entry point's `process.env`. */
  parentEnv: ParentEnv;
  redisUrl: string;
  tmpDir: string;
  nchanModule: string;
  core: number;
  port: number;
  /** When set, gateways and floors run with `--cpu-prof` and write their profile here on exit. */
  cpuProfDir?: string;
  /** Extra node flags for the gateways and floors (`--gateway-node-args`), e.g. `--trace-gc`. */
  gatewayNodeArgs?: string[];
  /** Run the gateways from `services/gateway/dist` (tsc's build) instead of their source through tsx. */
  gatewayDist?: boolean;
  /** The checkout whose gateway the `@base` targets run. */
  baselineRoot?: string;
}

/** The floor a gateway target is compared with. */
export function floorOf(key: string): "floorA" | "floorB" {
  return key.startsWith("shared") ? "floorB" : "floorA";
}

export function isGateway(key: string): boolean {
  return key.startsWith("dedicated") || key.startsWith("shared");
}

export async function startTarget(key: TargetKey, ctx: TargetContext): Promise<Target> {
  const base = `http://127.0.0.1:${ctx.port}`;
  if (isGateway(key)) {
    const baseline = key.endsWith("@base");
    if (baseline && !ctx.baselineRoot)
      throw new Error(`target ${key} needs --baseline <git ref or checkout>`);
    const mode = key.replace("@base", "");
    const profName = `gateway-${key.replace("@", "-")}`;
    const proc = await startPinned({
      name: profName,
      parentEnv: ctx.parentEnv,
      command: process.execPath,
      args: [
        // One profile per thread (tsx's loader hooks run on their own); the main thread's is the largest.
        ...(ctx.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", `${ctx.cpuProfDir}/${profName}`] : []),
        ...(ctx.gatewayNodeArgs ?? []),
        ...(ctx.gatewayDist ? ["services/gateway/dist/main.js"] : nodeTs("services/gateway/src/main.ts")),
      ],
      readyUrl: `${base}/readyz`,
      cwd: baseline ? ctx.baselineRoot : ctx.repoRoot,
      core: ctx.core,
      env: {
        PORT: String(ctx.port),
        HOST: "127.0.0.1",
        REDIS_URL: ctx.redisUrl,
        SUBSCRIBER_MODE: mode,
        LOG_LEVEL: "warn",
        MAX_STREAMS_PER_SUBJECT: "1000000",
        JWT_SECRET: DEV_JWT_SECRET,
      },
    });
    const token = signDevToken(DEV_JWT_SECRET, { sub: "bench", threads: ["*"], ttlSeconds: 24 * 3600 });
    return {
      key,
      proc,
      sseUrl: (thread) => `${base}/v1/threads/${thread}/events`,
      headers: { authorization: `Bearer ${token}` },
      publishVia: "redis",
      stop: () => proc.stop(),
    };
  }
  if (key === "floorA" || key === "floorB") {
    const proc = await startPinned({
      name: key,
      parentEnv: ctx.parentEnv,
      command: process.execPath,
      args: [
        ...(ctx.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", `${ctx.cpuProfDir}/${key}`] : []),
        ...(ctx.gatewayNodeArgs ?? []),
        ...nodeTs("scripts/bench/floor-server.ts"),
      ],
      readyUrl: `${base}/healthz`,
      cwd: ctx.repoRoot,
      core: ctx.core,
      env: {
        PORT: String(ctx.port),
        REDIS_URL: ctx.redisUrl,
        FLOOR_MODE: key === "floorA" ? "dedicated" : "shared",
      },
    });
    return {
      key,
      proc,
      sseUrl: (t) => `${base}/sub/${t}`,
      headers: {},
      publishVia: "redis",
      stop: () => proc.stop(),
    };
  }
  const dir = join(ctx.tmpDir, `nchan-${ctx.port}`);
  for (const sub of ["", "body", "proxy", "fastcgi", "uwsgi", "scgi"])
    mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    nchanConfig({ modulePath: ctx.nchanModule, dir, port: ctx.port, redisUrl: ctx.redisUrl }),
  );
  const proc = await startPinned({
    name: "nchan",
    parentEnv: ctx.parentEnv,
    command: "nginx",
    args: ["-p", dir, "-c", conf, "-e", join(dir, "error.log")],
    readyUrl: `${base}/healthz`,
    core: ctx.core,
  });
  return {
    key,
    proc,
    sseUrl: (t) => `${base}/sub/${t}`,
    headers: {},
    publishVia: "nchan",
    publishUrl: (t) => `${base}/pub?id=${t}`,
    stop: () => proc.stop(),
  };
}

/** Runs a TypeScript entry from source, like the services' dev mode (tsx only compiles at load). */
export function nodeTs(entry: string): string[] {
  return ["--conditions=@threadline/source", "--import", "tsx", entry];
}

/** A keep-alive HTTP publisher for Nchan's publisher location. */
export function createNchanPublisher(target: Target): (thread: string, content: string) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return (thread, content) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ type: "token", threadId: thread, ts: Date.now(), content });
      const req = http.request(
        target.publishUrl?.(thread) ?? "",
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          if ((res.statusCode ?? 500) < 300) resolve();
          else reject(new Error(`Nchan publish answered ${res.statusCode}`));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}
