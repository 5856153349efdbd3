import type { ThreadWatchers } from "@threadline/redis";

export interface DisconnectWatchOptions {
  watchers: ThreadWatchers;
  threadId: string;
  /** Cancel once no client has watched the thread for this long. */
  cancelAfterMs: number;
  /** How often to look at the watcher set. */
  checkEveryMs: number;
  onIdle(idleMs: number): void;
  onError(error: unknown): void;
  now?: () => number;
}

/**
 * Watches a thread's watcher set (the gateway's sorted set of open streams, scored by expiry ms) and
 * calls `onIdle` once it has been empty for `cancelAfterMs`. The clock starts with the run, so a
 * client has that long to connect after creating it. Returns a function that stops watching.
 */
export function watchDisconnect(options: DisconnectWatchOptions): () => void {
  const now = options.now ?? Date.now;
  let idleSince = now();
  let busy = false;
  let stopped = false;
  const check = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      const live = await options.watchers.countLive(options.threadId, now());
      if (live > 0) idleSince = now();
      else if (!stopped && now() - idleSince >= options.cancelAfterMs) {
        stop();
        options.onIdle(now() - idleSince);
      }
    } catch (error) {
      options.onError(error);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(check, options.checkEveryMs);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
