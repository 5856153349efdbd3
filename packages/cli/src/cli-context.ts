import type { CliConfig } from "./cli-config.js";

/** What commands use from the outside world; `main.ts` builds it from `process`, tests may build their own. */
export interface CliContext {
  /** Parsed lazily so `--help` and `token` work with a broken environment. */
  config(): CliConfig;
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** True when stdout is a terminal (tables are redrawn in place). */
  isTTY: boolean;
  /** Aborted on SIGINT/SIGTERM: long-running commands end cleanly. */
  signal: AbortSignal;
}
