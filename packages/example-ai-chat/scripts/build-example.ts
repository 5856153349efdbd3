import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's folder; the page is built into `dist/` inside it. */
export const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

/** `vite build` of the page (a few seconds: it bundles the workspace packages from source). */
export async function buildExample(): Promise<string> {
  const vite = join(EXAMPLE_DIR, "node_modules", "vite", "bin", "vite.js");
  let output = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    // Under vitest NODE_ENV is "test", which would bundle React's development build.
    const child = spawn(process.execPath, [vite, "build"], {
      cwd: EXAMPLE_DIR,
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`vite build of packages/example-ai-chat failed (exit ${code}):\n${output}`);
  return join(EXAMPLE_DIR, "dist");
}
