import type { Logger } from "pino";

export interface Closable {
  close(): Promise<unknown>;
}

/**
 * SIGTERM/SIGINT close the service once; a watchdog exits with code 1 if closing takes longer than
 * `timeoutMs`, so an orchestrator never waits on a stuck process.
 */
export function installShutdown(target: Closable, timeoutMs: number, log: Logger): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal, timeoutMs }, "shutting down");
    const watchdog = setTimeout(() => {
      log.error({ timeoutMs }, "shutdown timed out; exiting");
      process.exit(1);
    }, timeoutMs);
    watchdog.unref();
    target.close().then(
      () => {
        log.info("shut down cleanly");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
