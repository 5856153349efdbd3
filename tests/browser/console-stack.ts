import { fileURLToPath } from "node:url";
import {
  freePort,
  getTestRedis,
  type ManagedProcess,
  type ServiceKind,
  startServiceProcess,
  type TestRedis,
  uniqueId,
} from "@threadline/testing";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ConsoleStack {
  apiUrl: string;
  redisUrl: string;
  gatewayUrl: string;
  gateway(): ManagedProcess;
  /** SIGKILL the gateway (a crash), then start a new one on the same port. */
  killGateway(): Promise<void>;
  restartGateway(): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * api, gateway and worker from source on free ports, wired as `pnpm start` wires them: the API knows the
 * gateway's public URL (written into the console page) and the gateway allows the API's origin (CORS).
 * `pageOrigins`: pages served elsewhere (the useChat example) that both the API and the gateway allow;
 * `env`: more env for every service (e.g. a provider pointed at a fake LLM server).
 */
export async function startConsoleStack(
  options: { pageOrigins?: string[]; env?: Record<string, string> } = {},
): Promise<ConsoleStack> {
  const processes: ManagedProcess[] = [];
  let redis: TestRedis | undefined;
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await redis?.stop();
  };
  try {
    redis = await getTestRedis();
    const [apiPort, gatewayPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const common = {
      LOG_LEVEL: "warn",
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `{${uniqueId("console")}}`,
      RATE_LIMIT_RUNS_PER_MINUTE: "0",
      ...options.env,
    };
    const start = async (kind: ServiceKind, port: number, env: Record<string, string> = {}) =>
      (await startServiceProcess({ kind, port, env: { ...common, ...env } })).process;
    const pages = options.pageOrigins ?? [];
    const gatewayEnv = {
      CORS_ORIGINS: [apiUrl, ...pages].join(","),
      HEARTBEAT_INTERVAL_MS: "1000",
      SSE_RETRY_MS: "200",
    };
    const started = await Promise.allSettled([
      start("gateway", gatewayPort, gatewayEnv),
      start("api", apiPort, {
        GATEWAY_PUBLIC_URL: gatewayUrl,
        ...(pages.length > 0 ? { CORS_ORIGINS: pages.join(",") } : {}),
      }),
      start("worker", workerPort),
    ]);
    for (const s of started) if (s.status === "fulfilled") processes.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    let gateway = processes[0]!;
    return {
      apiUrl,
      redisUrl: redis.url,
      gatewayUrl,
      gateway: () => gateway,
      killGateway: () => gateway.kill("SIGKILL"),
      async restartGateway() {
        gateway = await start("gateway", gatewayPort, gatewayEnv);
        processes[0] = gateway;
      },
      logs: () => processes.map((p) => `----- ${p.name} -----\n${p.output()}`).join("\n"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
