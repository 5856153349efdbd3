#!/usr/bin/env node
import { loadCliConfig } from "./cli-config.js";
import { runCli } from "./run-cli.js";

// The only file that touches process: env, streams, signals, exit code.
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => controller.abort());
}
const code = await runCli(process.argv.slice(2), {
  config: () => loadCliConfig(process.env),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  isTTY: process.stdout.isTTY === true,
  signal: controller.signal,
});
// Let stdout drain before exiting (pipes are asynchronous).
process.stdout.write("", () => process.exit(controller.signal.aborted && code === 0 ? 130 : code));
