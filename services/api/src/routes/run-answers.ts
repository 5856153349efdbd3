import type { ServerResponse } from "node:http";
import {
  ERRORS,
  encodeSse,
  isFinalState,
  type RunView,
  SSE_EVENT_NAMES,
  SSE_KEEPALIVE,
  STREAM_ERROR_CODES,
  STREAM_PROTOCOL_HEADER,
  STREAM_PROTOCOL_VERSION,
} from "@threadline/protocol";
import { closeRedisClient, type RedisClient } from "@threadline/redis";
import type { FastifyReply, FastifyRequest } from "fastify";
import { runNotFound } from "../errors.js";
import { type FollowTarget, followRun } from "../follow-run.js";
import type { RouteContext } from "./route-context.js";

/** How long a streamed run may stay silent before a `: keepalive` (the gateway's default heartbeat). */
export const RUN_STREAM_HEARTBEAT_MS = 15_000;

/** `Accept: text/event-stream` on `POST …/runs`: the client wants the run streamed in the response. */
export function wantsEventStream(request: FastifyRequest): boolean {
  return /\btext\/event-stream\b/i.test(request.headers.accept ?? "");
}

/**
 * Follows a run with a blocking connection of its own, closed when the client leaves, the API shuts
 * down (`ctx.follows`) or the follow ends.
 */
function openFollow(ctx: RouteContext, res: ServerResponse) {
  const conn: RedisClient = ctx.openBlockingConnection("threadline-api-follow");
  conn.on("error", () => {});
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    ctx.follows.delete(stop);
    // Rejects a blocked XREAD at once, which ends the follower.
    conn.disconnect();
    void closeRedisClient(conn).catch(() => {});
  };
  ctx.follows.add(stop);
  res.once("close", stop);
  return {
    conn,
    stop,
    get stopped() {
      return stopped;
    },
  };
}

/**
 * `?wait=<seconds>`: waits for the run's `done` in the log (at most `waitSeconds`), then answers with
 * the run as `GET …/runs/:runId` returns it — 200 when it finished, 202 when it is still going.
 */
export async function waitForRun(
  ctx: RouteContext,
  reply: FastifyReply,
  target: FollowTarget,
  waitSeconds: number,
): Promise<FastifyReply> {
  const deadline = ctx.now() + waitSeconds * 1000;
  const follow = openFollow(ctx, reply.raw);
  try {
    for await (const item of followRun(follow.conn, target, { blockMs: () => deadline - ctx.now() })) {
      if (item.kind === "event" ? item.event.type === "done" : ctx.now() >= deadline) break;
    }
  } catch (error) {
    // Stopped: the client left or the API is closing (its connection was closed under the follower).
    // Otherwise the log could not be read: the run exists, so answer with what its record says.
    if (!follow.stopped) reply.log.warn({ err: error, ...target }, "waiting for the run failed");
  } finally {
    follow.stop();
  }
  const run: RunView | undefined =
    (await ctx.runs.get(target.threadId, target.runId)) ??
    (await ctx.archive?.reader.getRun(target.threadId, target.runId));
  if (!run) throw runNotFound(target.threadId, target.runId);
  return reply.code(isFinalState(run.status) ? 200 : 202).send(run);
}

/**
 * `Accept: text/event-stream`: the run's events, framed like the gateway's stream (same ids, so the
 * client resumes there with `Last-Event-ID` if this response breaks), from its `status queued` until
 * its `done`. Heartbeats every RUN_STREAM_HEARTBEAT_MS; TOKEN_EXPIRED at the token's expiry, and
 * REPLAY_FAILED when Redis fails mid-stream, as in-band `stream-error` notices.
 */
export async function streamRun(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  target: FollowTarget & { expiresAtMs: number },
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",
    [STREAM_PROTOCOL_HEADER]: String(STREAM_PROTOCOL_VERSION),
  });
  res.flushHeaders();
  const follow = openFollow(ctx, res);
  const write = async (chunk: string) => {
    if (res.write(chunk) || follow.stopped) return;
    // A slow reader: read no further from the log until it has taken what it was sent.
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  };
  const notice = (code: string, message: string, retryable: boolean) => {
    const event = {
      type: "error" as const,
      threadId: target.threadId,
      runId: target.runId,
      ts: ctx.now(),
      content: { code, message, retryable },
    };
    return write(encodeSse(event, undefined, "named", SSE_EVENT_NAMES.streamError));
  };
  const blockMs = () => Math.min(RUN_STREAM_HEARTBEAT_MS, target.expiresAtMs - ctx.now());
  try {
    for await (const item of followRun(follow.conn, target, { blockMs })) {
      if (follow.stopped) break;
      if (ctx.now() >= target.expiresAtMs) {
        await notice(
          STREAM_ERROR_CODES.tokenExpired,
          "the token has expired: get a new one and resume from the gateway with Last-Event-ID",
          true,
        );
        break;
      }
      await write(item.kind === "idle" ? SSE_KEEPALIVE : encodeSse(item.event, item.json));
    }
  } catch (error) {
    if (!follow.stopped) {
      request.log.warn({ err: error, ...target }, "streaming the run from the log failed");
      await notice(
        STREAM_ERROR_CODES.replayFailed,
        ERRORS.REPLAY_FAILED.message,
        ERRORS.REPLAY_FAILED.retryable,
      );
    }
  } finally {
    follow.stop();
    res.end();
  }
}
