/**
 * `pnpm --filter @threadline/example-ai-chat start`: builds the page, starts the whole Threadline stack
 * (the repository's `scripts/start.ts --source`: Redis, api, gateway, worker) with CORS for this page, and
 * serves the page. No key, no network: the demo agent answers. With ANTHROPIC_API_KEY (or
 * OPENAI_API_KEY / OPENAI_BASE_URL) set, runs go to that provider instead. Ctrl-C stops everything.
 *
 * Env: EXAMPLE_PORT (5180), API_PORT (3000), GATEWAY_PORT (3001), WORKER_PORT (3002), JWT_SECRET; the
 * rest goes to the stack as `pnpm start` documents.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { buildExample, EXAMPLE_DIR } from "./build-example.js";
import { serveExample } from "./serve-example.js";

const env = process.env;
const host = "127.0.0.1";
const port = Number(env.EXAMPLE_PORT ?? 5180);
const ports = {
  api: env.API_PORT ?? "3000",
  gateway: env.GATEWAY_PORT ?? "3001",
  worker: env.WORKER_PORT ?? "3002",
};
const pageOrigins = [`http://${host}:${port}`, `http://localhost:${port}`];
const agent = env.ANTHROPIC_API_KEY
  ? "anthropic"
  : env.OPENAI_API_KEY || env.OPENAI_BASE_URL
    ? "openai"
    : "demo";

console.log("[example] building the page …");
const distDir = await buildExample();
// The repository's start script itself (not through pnpm), so SIGTERM reaches it and it stops the
// services and the Redis it started.
const repo = join(EXAMPLE_DIR, "..", "..");
const stack = spawn(
  process.execPath,
  ["--conditions=@threadline/source", "--import", "tsx", "scripts/start.ts", "--source"],
  {
    cwd: repo,
    env: {
      ...env,
      API_PORT: ports.api,
      GATEWAY_PORT: ports.gateway,
      WORKER_PORT: ports.worker,
      // The page is another origin than the API's and the gateway's: both must allow it.
      CORS_ORIGINS: [...pageOrigins, `http://${host}:${ports.api}`].join(","),
    },
    stdio: ["ignore", "inherit", "inherit"],
  },
);
const apiUrl = `http://${host}:${ports.api}`;
await waitFor(`${apiUrl}/readyz`, stack);
await waitFor(`http://${host}:${ports.gateway}/readyz`, stack);
const token = signDevToken(env.JWT_SECRET ?? DEV_JWT_SECRET, {
  sub: "example",
  threads: ["*"],
  ttlSeconds: 24 * 3600,
});
const page = await serveExample({
  distDir,
  host,
  port,
  config: { apiUrl, gatewayUrl: `http://${host}:${ports.gateway}`, token, agent },
});
console.log(`\n[example] useChat on Threadline (agent: ${agent}): ${page.url}\n`);

const stop = async () => {
  await page.close();
  if (stack.exitCode === null) stack.kill("SIGTERM");
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
stack.once("exit", (code) => {
  void page.close();
  process.exitCode = code ?? 1;
});

async function waitFor(url: string, child: ReturnType<typeof spawn>): Promise<void> {
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the stack exited (${child.exitCode}) before ${url} answered`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
