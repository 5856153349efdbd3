import type { Logger } from "pino";

/**
 * Runs one of a transport's deferred cleanups: a cleanup that throws or rejects is logged, never
 * allowed to stop the others (every transport's dispose path runs all of them).
 */
export function runCleanup(cleanup: () => unknown, log: Logger, what: string): void {
  try {
    void Promise.resolve(cleanup()).catch((error: unknown) =>
      log.warn({ err: error }, `${what} cleanup failed`),
    );
  } catch (error) {
    log.warn({ err: error }, `${what} cleanup failed`);
  }
}
