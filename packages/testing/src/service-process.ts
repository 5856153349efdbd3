import { fileURLToPath } from "node:url";
import { freePort, type ManagedProcess, startProcess } from "./processes.js";
import { childEnv, type TestEnv } from "./test-env.js";

export type ServiceKind = "gateway" | "api" | "worker";

export interface ServiceInstance {
  kind: ServiceKind;
  /** e.g. `gateway-1`. */
  name: string;
  port: number;
  url: string;
  process: ManagedProcess;
}

export interface ServiceProcessOptions {
  kind: ServiceKind;
  name?: string;
  /** Default: a free port. */
  port?: number;
  env: Record<string, string>;
  /** tsx compiles on start and CI has 2 shared cores: default 60 s. */
  readyTimeoutMs?: number;
  /** Resolve at once instead of on /readyz (a service started while Redis is down). Default true. */
  waitForReady?: boolean;
  keepOutputChars?: number;
  /** Where PATH and HOME come from; default: what vitest.config.ts provides. */
  parentEnv?: TestEnv;
  /** The entry point, from the repository root; default `services/<kind>/src/main.ts`. */
  entry?: string;
  /** Aborting it before /readyz answers stops the service and rejects the start. */
  signal?: AbortSignal;
}

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * Starts one real service as a child process from source
 * (`node --conditions=@threadline/source --import tsx services/<kind>/src/main.ts`, or `entry`, so no
 * build is needed) on a loopback port, with only PATH and HOME inherited; resolves once it answers /readyz
 * (unless `waitForReady: false`).
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceInstance> {
  const { kind } = options;
  const name = options.name ?? kind;
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: [
      "--conditions=@threadline/source",
      "--import",
      "tsx",
      options.entry ?? `services/${kind}/src/main.ts`,
    ],
    cwd: REPO_ROOT,
    env: {
      ...childEnv(options.parentEnv),
      ...options.env,
      HOST: "127.0.0.1",
      PORT: String(port),
    },
    ...(options.waitForReady === false ? {} : { readyUrl: `${url}/readyz` }),
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    ...(options.keepOutputChars ? { keepOutputChars: options.keepOutputChars } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { kind, name, port, url, process: proc };
}
