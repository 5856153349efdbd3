/** The gateway and probes of the cost benches (gateway-idle-cost, multiplex-cost). */
import { existsSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { freePort } from "@threadline/testing";
import type { Redis } from "ioredis";
import { type ParentEnv, type Proc, startPinned } from "./processes.js";

const gatewayDir = fileURLToPath(new URL("../../../services/gateway/", import.meta.url));

/** The built `dist/main.js` gives production-like RSS (`pnpm build` first); else src through tsx. */
export const gatewayBuilt = existsSync(`${gatewayDir}dist/main.js`);
export const gatewaySource = gatewayBuilt ? "dist (node)" : "src (tsx)";

/** Starts a gateway on a free port against `redisUrl`, waits for /readyz, then lets it settle 1 s. */
export async function startCostGateway(
  parentEnv: ParentEnv,
  redisUrl: string,
  env: Record<string, string>,
): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startPinned({
    name: "gateway",
    command: process.execPath,
    args: gatewayBuilt
      ? ["dist/main.js"]
      : ["--conditions=@threadline/source", "--import", "tsx", "src/main.ts"],
    cwd: gatewayDir,
    parentEnv,
    env: { REDIS_URL: redisUrl, PORT: String(port), LOG_LEVEL: "warn", ...env },
    readyUrl: `${url}/readyz`,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  return { proc, url };
}

/** Redis's connected clients, less `probe` itself. */
export async function redisClients(probe: Redis): Promise<number> {
  return Number(/connected_clients:(\d+)/.exec(await probe.info("clients"))?.[1] ?? 0) - 1;
}

/**
 * Opens an SSE stream and resolves, with its closer, once the 200 and its first bytes (`retry:`)
 * arrived; `onEvent` is called for every `data:` line after that.
 */
export function openSse(url: string, token: string, onEvent: () => void = () => {}): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}` } });
    request.once("error", reject);
    request.once("response", (response) => {
      if (response.statusCode !== 200) return reject(new Error(`HTTP ${response.statusCode} for ${url}`));
      let tail = "";
      response.on("data", (chunk: Buffer) => {
        const lines = (tail + chunk.toString()).split("\n");
        tail = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith("data:")) onEvent();
      });
      response.once("data", () => resolve(() => request.destroy()));
    });
  });
}
