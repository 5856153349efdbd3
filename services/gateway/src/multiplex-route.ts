import {
  decodeVector,
  ERRORS,
  STREAM_PROTOCOL_HEADER,
  STREAM_PROTOCOL_VERSION,
  ThreadId,
} from "@threadline/protocol";
import { HttpError, httpError } from "@threadline/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { streamExpiresAtMs } from "./authorize-stream.js";
import type { EventsRouteOptions } from "./events-route.js";
import { createMultiplexStream } from "./multiplex-stream.js";
import { serveStream } from "./serve-thread-stream.js";
import { createStreamIds } from "./stream-ids.js";
import { invalidQuery, streamModeOf, streamModeQuery } from "./stream-query.js";
import type { ThreadSubscriber } from "./types.js";

export interface MultiplexRouteOptions extends EventsRouteOptions {
  /** MAX_THREADS_PER_CONNECTION */
  maxThreadsPerConnection: number;
  /** A subscriber for one client connection (subscriber-for-mode.ts); closed when it ends. */
  connectionSubscriber(): ThreadSubscriber;
}

const MultiplexQuery = z.looseObject({
  threads: z.string({ error: "threads=<id>,<id>,… is required" }),
  access_token: z.string().optional(),
  after: z.string().optional(),
  ...streamModeQuery,
});

/** `GET /v1/events?threads=a,b,c`: many threads on one SSE stream (see docs/API.md, Multiplexed SSE). */
export async function multiplexRoute(app: FastifyInstance, options: MultiplexRouteOptions): Promise<void> {
  const nextStreamId = createStreamIds("m");

  app.get("/v1/events", { exposeHeadRoute: false }, async (request, reply) => {
    const { threads, resumeFrom, mode, queryToken } = parseRequest(request, options.maxThreadsPerConnection);
    const claims = await authorizeAll(options, request, threads, queryToken);
    const lease = options.admission.acquire(claims.sub);
    const streamId = nextStreamId();
    const stream = createMultiplexStream(options.ctx, {
      threads,
      streamId,
      reqId: request.id,
      resumeFrom,
      ...mode,
      expiresAtMs: streamExpiresAtMs(claims, options.clockToleranceSeconds),
    });
    const subscriber = options.connectionSubscriber();
    stream.defer(() => subscriber.close());

    const served = await serveStream(options, request, reply, {
      streamId,
      stream,
      lease,
      // A thread without a position (no vector, or an empty position in it) is live from its tail,
      // unless it joins with a snapshot, which reads its whole log (to fold it).
      threads: threads.map((threadId, i) => ({
        threadId,
        handlers: stream.handlers[i]!,
        liveOnly: resumeFrom?.[i] === undefined && !mode.snapshot,
      })),
      // On the 200 only (a refusal before it goes without), as this route always sent it.
      start: (res, headers, liveFrom) =>
        stream.start(
          res,
          { ...headers, [STREAM_PROTOCOL_HEADER]: String(STREAM_PROTOCOL_VERSION) },
          liveFrom,
        ),
      subscriber,
      logContext: { threads: threads.length },
    });
    if (!served) return;
    request.log.debug({ streamId, sub: claims.sub, threads: threads.length }, "multiplexed stream opened");
  });
}

/** Every thread must be granted: one 401 for a bad token, or one 403 naming the first refused thread. */
async function authorizeAll(
  options: MultiplexRouteOptions,
  request: FastifyRequest,
  threads: string[],
  queryToken: string | undefined,
) {
  const credentials = { authorization: request.headers.authorization, queryToken };
  const results = await Promise.allSettled(threads.map((t) => options.authorize(credentials, t)));
  for (const [i, result] of results.entries()) {
    if (result.status === "fulfilled") continue;
    const error = result.reason;
    if (error instanceof HttpError && error.statusCode === 403) {
      throw new HttpError(
        403,
        error.code,
        `the token may not read thread ${threads[i]}: ask for a token that lists every thread in "threads"`,
        { threadId: threads[i] },
        error.headers,
      );
    }
    throw error;
  }
  const first = results[0];
  if (first?.status !== "fulfilled") throw new Error("unreachable: no threads authorized");
  return first.value;
}

function parseRequest(request: FastifyRequest, maxThreads: number) {
  const query = MultiplexQuery.safeParse(request.query ?? {});
  if (!query.success) {
    throw invalidQuery(
      query.error,
      "threads=<id>,<id>,…, after=<position vector>, until=done, format=named|message, snapshot=1, types=<type,…>, runId=<run id>, agent=<name/name…>",
    );
  }
  const threads = query.data.threads.split(",");
  if (threads.length > maxThreads) {
    throw httpError(
      ERRORS.TOO_MANY_THREADS,
      `${threads.length} threads on one connection; the limit is ${maxThreads} (MAX_THREADS_PER_CONNECTION): split them over several connections`,
      { limit: maxThreads, requested: threads.length },
    );
  }
  const seen = new Set<string>();
  for (const raw of threads) {
    const parsed = ThreadId.safeParse(raw);
    if (!parsed.success) {
      throw httpError(
        ERRORS.INVALID_THREAD_ID,
        `thread id "${raw.slice(0, 80)}" ${parsed.error.issues[0]?.message}`,
      );
    }
    if (seen.has(raw)) throw httpError(ERRORS.INVALID_QUERY, `thread ${raw} is listed twice in threads=`);
    seen.add(raw);
  }
  const header = request.headers["last-event-id"];
  const vector = typeof header === "string" && header !== "" ? header : query.data.after;
  let resumeFrom: (string | undefined)[] | undefined;
  if (vector !== undefined) {
    const decoded = decodeVector(vector, threads);
    if (!decoded.ok) {
      throw httpError(
        ERRORS.INVALID_LAST_EVENT_ID,
        `Last-Event-ID / after must be a position vector this route sent for the same threads= list: ${decoded.reason}`,
      );
    }
    resumeFrom = decoded.positions;
  }
  return { threads, resumeFrom, mode: streamModeOf(query.data), queryToken: query.data.access_token };
}
