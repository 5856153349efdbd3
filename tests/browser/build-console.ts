import { spawn } from "node:child_process";
import { join } from "node:path";
import { childEnv } from "@threadline/testing";
import { REPO_ROOT } from "./console-stack.js";

/**
 * Builds packages/console with Vite (a few seconds: it bundles the workspace packages from source), so the
 * suite runs on a fresh clone without `pnpm build`.
 */
export async function buildConsole(): Promise<void> {
  const dir = join(REPO_ROOT, "packages", "console");
  const vite = join(dir, "node_modules", "vite", "bin", "vite.js");
  let output = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
    const child = spawn(process.execPath, [vite, "build"], {
      cwd: dir,
      env: { ...childEnv(), NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`vite build of packages/console failed (exit ${code}):\n${output}`);
}
