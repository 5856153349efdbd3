/** The API and worker services for S4/S5, started from source like the gateway, pinned to a core. */
import { DEV_JWT_SECRET } from "@threadline/config";
import { freePort } from "@threadline/testing";
import { type ParentEnv, type Proc, startPinned } from "./processes.js";
import { nodeTs } from "./targets.js";

export interface ServiceOptions {
  repoRoot: string;
  /** What the service inherits: the entry point's `process.env`. */
  parentEnv: ParentEnv;
  redisUrl: string;
  core?: number;
  env?: Record<string, string>;
  /** Node flags before the entry point, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export async function startService(
  service: "api" | "worker",
  options: ServiceOptions,
): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startPinned({
    name: service,
    parentEnv: options.parentEnv,
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), ...nodeTs(`services/${service}/src/main.ts`)],
    cwd: options.repoRoot,
    core: options.core,
    readyUrl: `${url}/readyz`,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      REDIS_URL: options.redisUrl,
      JWT_SECRET: DEV_JWT_SECRET,
      LOG_LEVEL: "warn",
      ...options.env,
    },
  });
  return { proc, url };
}
