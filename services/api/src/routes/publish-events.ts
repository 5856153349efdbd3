import { isAdmin, publishGrantOf } from "@threadline/auth";
import {
  ERRORS,
  type EventDraft,
  MAX_PUBLISH_BATCH,
  PublishBody,
  PublishEvent,
  PublishResult,
  RunParams,
} from "@threadline/protocol";
import { type Published, PublishRefusedError } from "@threadline/redis";
import { type HttpError, httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { claimsOf } from "../authenticate.js";
import { runNotFound } from "../errors.js";
import { parseOrThrow } from "../parse-or-throw.js";
import { routeSchema } from "../route-schema.js";
import type { RouteContext } from "./route-context.js";

const PublishBatch = z
  .array(PublishEvent)
  .min(1, "send at least one event")
  .max(MAX_PUBLISH_BATCH, `at most ${MAX_PUBLISH_BATCH} events per request`);

/**
 * `POST /v1/threads/:threadId/runs/:runId/events`: an external run's producer publishes one event or
 * a batch through THE publish script (same log, same seq, same live channel), answered with each
 * event's id and seq in order. Retrying with the same idempotency keys appends nothing twice.
 */
export function publishEventsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    "/v1/threads/:threadId/runs/:runId/events",
    {
      schema: routeSchema({
        summary: "Publish events of an external run (its publishToken, or an admin token)",
        params: RunParams,
        body: PublishBody,
        responses: { 200: PublishResult },
        errors: [400, 401, 403, 404, 409, 413, 415],
      }),
      config: { acceptsPublishToken: true },
    },
    async (request) => {
      const { threadId, runId } = parseOrThrow(RunParams, request.params, ERRORS.INVALID_PARAMS, "path");
      checkPublisher(claimsOf(request), threadId, runId);
      const single = !Array.isArray(request.body);
      const events = single
        ? [parseOrThrow(PublishEvent, request.body ?? {}, ERRORS.INVALID_BODY, "event")]
        : parseOrThrow(PublishBatch, request.body, ERRORS.INVALID_BODY, "events");
      const field = (i: number, name?: string) =>
        single ? (name ?? "event") : `[${i}]${name ? `.${name}` : ""}`;

      let doneAt = -1;
      events.forEach((event, i) => {
        if (event.threadId !== undefined && event.threadId !== threadId)
          throw badEvent(field(i, "threadId"), `is ${event.threadId} but the URL names thread ${threadId}`);
        if (event.runId !== undefined && event.runId !== runId)
          throw badEvent(field(i, "runId"), `is ${event.runId}: this request publishes run ${runId} only`);
        if (doneAt >= 0)
          throw runEnded(field(i), `follows the run's done (${field(doneAt)}): nothing may follow done`);
        if (event.type === "done") doneAt = i;
        const bytes = Buffer.byteLength(JSON.stringify(event.content));
        if (bytes > ctx.config.maxEventBytes)
          throw httpError(
            ERRORS.EVENT_TOO_LARGE,
            `${field(i, "content")}: ${bytes} bytes, limit ${ctx.config.maxEventBytes}`,
          );
      });

      const record = await ctx.runs.get(threadId, runId);
      if (!record) throw runNotFound(threadId, runId);
      if (record.runner !== "external")
        throw httpError(
          ERRORS.RUN_NOT_EXTERNAL,
          `run ${runId} is run by our workers (agent ${record.agent}); only external runs take published events`,
        );

      // One connection, sent back to back: Redis runs the scripts in this order.
      const settled = await Promise.allSettled(
        events.map((event) =>
          ctx.publisher.publish(
            { threadId, runId },
            (event.agent
              ? { type: event.type, content: event.content, agent: event.agent }
              : { type: event.type, content: event.content }) as EventDraft,
            event.idempotencyKey ? { idempotencyKey: event.idempotencyKey } : {},
          ),
        ),
      );
      const published = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      await ctx.external.follow(threadId, runId, events.slice(0, published.length) as EventDraft[]);
      const failedAt = settled.findIndex((s) => s.status === "rejected");
      if (failedAt >= 0)
        throw refused(field(failedAt), (settled[failedAt] as PromiseRejectedResult).reason, published);
      const result: PublishResult = { events: published.map(answer) };
      return result;
    },
  );
}

function answer(p: Published) {
  return p.duplicate ? { id: p.id, seq: p.seq, duplicate: true } : { id: p.id, seq: p.seq };
}

function checkPublisher(claims: Parameters<typeof publishGrantOf>[0], threadId: string, runId: string): void {
  const grant = publishGrantOf(claims);
  if (grant) {
    if (grant.threadId === threadId && grant.runId === runId) return;
    throw httpError(
      ERRORS.FORBIDDEN,
      `this publish token is for run ${grant.runId} of thread ${grant.threadId}, not run ${runId} of thread ${threadId}`,
    );
  }
  if (!isAdmin(claims))
    throw httpError(
      ERRORS.FORBIDDEN,
      "publishing needs the run's publishToken (from POST …/runs with runner external) or an admin token",
    );
}

function badEvent(field: string, message: string): HttpError {
  return httpError(ERRORS.INVALID_BODY, `invalid events: ${field}: ${message}`, {
    issues: [{ path: field, message }],
  });
}

function runEnded(field: string, message: string): HttpError {
  return httpError(ERRORS.RUN_ENDED, `${field}: ${message}`, { issues: [{ path: field, message }] });
}

/** The script refused event `field`; the events before it are published (their ids are in details). */
function refused(field: string, reason: unknown, published: Published[]): unknown {
  if (!(reason instanceof PublishRefusedError)) return reason;
  const details = { issues: [{ path: field, message: reason.detail }], published: published.map(answer) };
  if (reason.code === ERRORS.RUN_ENDED.code)
    return httpError(
      ERRORS.RUN_ENDED,
      `${field}: the run already ended (${reason.detail}); start a new run`,
      details,
    );
  return httpError(ERRORS.INVALID_BODY, `invalid events: ${field}: ${reason.detail}`, details);
}
