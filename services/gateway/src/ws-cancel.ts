import type { Claims } from "@threadline/auth";
import type { GatewayConfig } from "@threadline/config";
import { ERRORS } from "@threadline/protocol";
import {
  cancelRun,
  createArchiveFeed,
  createRunLifecycle,
  createRunRecords,
  createRunsQueue,
  type RedisClient,
  type RunsQueue,
} from "@threadline/redis";
import { httpError } from "@threadline/server";
import type { StreamAuth } from "./authorize-stream.js";

export interface WsCancel {
  /** Throws an HttpError (403, RUN_NOT_FOUND, RUN_FINISHED) the connection turns into an error frame. */
  cancelRun(claims: Claims, threadId: string, runId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The WebSocket `{type:"cancel"}`: authorized as the API's cancel is (the token may read the thread)
 * and carried out by the same `cancelRun`. The runs queue connection is opened on the first cancel,
 * so a gateway whose clients never cancel holds none.
 */
export function createWsCancel(
  config: Pick<GatewayConfig, "redis" | "archive">,
  redis: RedisClient,
  auth: StreamAuth,
): WsCancel {
  let queue: RunsQueue | undefined;
  const feed = config.archive
    ? createArchiveFeed(redis, { markIntervalMs: config.archive.markIntervalMs })
    : undefined;
  const deps = {
    redis,
    runs: createRunRecords(redis),
    lifecycle: createRunLifecycle(redis, {
      logMaxLen: config.redis.logMaxLen,
      logTtlSeconds: config.redis.logTtlSeconds,
      ...(feed ? { onAppended: (threadId: string) => feed.touch(threadId) } : {}),
    }),
    queue: {
      removeQueued(runId: string) {
        queue ??= createRunsQueue(config.redis, { name: "gateway-runs-queue" });
        return queue.removeQueued(runId);
      },
    },
  };
  return {
    async cancelRun(claims, threadId, runId) {
      await auth.authorizeThread(claims, threadId);
      const result = await cancelRun(deps, { threadId, runId, by: claims.sub });
      if (result.outcome === "not_found") {
        throw httpError(ERRORS.RUN_NOT_FOUND, `no run ${runId} in thread ${threadId}`);
      }
      if (result.outcome === "finished") {
        throw httpError(
          ERRORS.RUN_FINISHED,
          `run ${runId} already ended (${result.run.status}); nothing to cancel`,
        );
      }
    },
    async close() {
      await feed?.flush();
      await queue?.close();
    },
  };
}
