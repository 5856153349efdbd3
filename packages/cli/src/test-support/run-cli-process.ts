import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childEnv } from "@threadline/testing";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcessOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  timeoutMs?: number;
}

/** Runs `threadline <args>` as a real child process (from source through tsx) and collects its output. */
export function runCliProcess(args: string[], options: CliProcessOptions = {}): Promise<CliResult> {
  return runCommand(
    process.execPath,
    ["--conditions=@threadline/source", "--import", "tsx", MAIN, ...args],
    options,
  );
}

/** Runs any command from the repository root (e.g. `pnpm threadline …`, as the README says) and collects its output. */
export function runCommand(
  command: string,
  args: string[],
  options: CliProcessOptions = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...childEnv(), ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${command} ${args.join(" ")} did not exit within ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}
