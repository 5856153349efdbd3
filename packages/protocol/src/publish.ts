import { z } from "zod";
import { AgentPath, DeltaContent, DoneContent, ErrorContent, StatusContent, TokenContent } from "./events.js";
import { EventId, RunId, ThreadId } from "./ids.js";

/** Most events one `POST …/runs/:runId/events` may carry. */
export const MAX_PUBLISH_BATCH = 1000;

/** Longest idempotency key the publish script accepts. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** `idempotencyKey`: unique within the run; a repeat answers the first publish's id and seq. */
export const IdempotencyKey = z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH);

const producerFields = {
  idempotencyKey: IdempotencyKey.optional(),
  /** Taken from the URL; when given it must match it. */
  threadId: ThreadId.optional(),
  runId: RunId.optional(),
  /** The producing agent's path in a multi-agent run; absent = the run's root agent. */
  agent: AgentPath.optional(),
};

/**
 * One event as a producer sends it (HTTP publish): no `id`, `seq` or `ts` (the server assigns them);
 * unknown fields are refused so a typo is not silently dropped.
 */
export const PublishEvent = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("token"), content: TokenContent, ...producerFields }),
  z.strictObject({ type: z.literal("status"), content: StatusContent, ...producerFields }),
  z.strictObject({ type: z.literal("delta"), content: DeltaContent, ...producerFields }),
  z.strictObject({ type: z.literal("done"), content: DoneContent, ...producerFields }),
  z.strictObject({ type: z.literal("error"), content: ErrorContent, ...producerFields }),
]);
export type PublishEvent = z.infer<typeof PublishEvent>;

/** Body of `POST /v1/threads/:threadId/runs/:runId/events`: one event, or up to 1,000 in order. */
export const PublishBody = z.union([
  PublishEvent,
  z
    .array(PublishEvent)
    .min(1, "send at least one event")
    .max(MAX_PUBLISH_BATCH, `at most ${MAX_PUBLISH_BATCH} events per request`),
]);
export type PublishBody = z.infer<typeof PublishBody>;

/** Answer of HTTP publish: each event's replay-log id and seq, in the order sent. */
export const PublishResult = z.object({
  events: z.array(
    z.object({
      id: EventId,
      seq: z.number().int().min(1),
      /** True when the idempotency key had been published before (nothing new was appended). */
      duplicate: z.boolean().optional(),
    }),
  ),
});
export type PublishResult = z.infer<typeof PublishResult>;
