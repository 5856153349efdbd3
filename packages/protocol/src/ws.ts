import { z } from "zod";
import { AgentPath, EventType } from "./events.js";
import { EventId, RunId, ThreadId } from "./ids.js";

/**
 * The WebSocket transport of the gateway (`GET /v1/ws`, see docs/ARCHITECTURE.md "WebSocket"): one
 * socket, many threads. Every message is one JSON object with a `type`, one per text frame.
 */

/** A resume position: a log id, or `0` for everything retained (as SSE's Last-Event-ID / `?after`). */
const After = z.union([z.literal("0"), EventId]);

/** What a client may send. */
export const WsClientMessage = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("subscribe"),
      threadId: ThreadId,
      after: After.optional(),
      /** Filters, as the SSE routes' `types=`, `runId=`, `agent=` (here a path array, as events carry it). */
      types: z.array(EventType).min(1, "list at least one event type").optional(),
      runId: RunId.optional(),
      agent: AgentPath.optional(),
      /** Join with the run's state so far (one `snapshot` delta), unless `after` resumes. */
      snapshot: z.boolean().optional(),
    }),
    z.strictObject({ type: z.literal("unsubscribe"), threadId: ThreadId }),
    z.strictObject({ type: z.literal("cancel"), threadId: ThreadId, runId: RunId }),
    z.strictObject({
      type: z.literal("refresh"),
      token: z
        .string()
        .min(1)
        .max(16 * 1024),
    }),
  ],
  { error: 'type must be one of "subscribe", "unsubscribe", "cancel", "refresh"' },
);
export type WsClientMessage = z.infer<typeof WsClientMessage>;

/** What the gateway sends: `event.event` is the event's JSON exactly as SSE carries it. */
export const WsServerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("subscribed"),
    threadId: ThreadId,
    /** Where the subscription starts: resume after it (as `subscribe.after`) until an event arrives. */
    after: z.string(),
  }),
  z.object({ type: z.literal("event"), event: z.unknown() }),
  z.object({
    type: z.literal("error"),
    code: z.string(),
    message: z.string(),
    threadId: ThreadId.optional(),
    /** REPLAY_TRUNCATED: the position that is gone. */
    after: z.string().optional(),
  }),
]);
export type WsServerMessage = z.infer<typeof WsServerMessage>;

/**
 * Close codes the gateway uses (4000–4999 are the application's, RFC 6455 §7.4.2). A client resumes
 * after any of them by reconnecting and subscribing with `after` = the last id it saw per thread.
 */
export const WS_CLOSE_CODES = {
  /** The gateway is shutting down: reconnect (to another instance). */
  goingAway: 1001,
  /** A message larger than the gateway accepts (WS_MAX_MESSAGE_BYTES). */
  messageTooBig: 1009,
  /** The token expired and no `refresh` came in time: get a new token and reconnect. */
  tokenExpired: 4001,
  /** Unsent bytes passed SSE_MAX_BUFFER_BYTES: the client did not read (slow consumer). */
  slowConsumer: 4008,
} as const;

/** `{"type":"event","event":<json>}` with the event's JSON embedded byte for byte (never re-serialized). */
export function encodeWsEvent(json: string): string {
  return `{"type":"event","event":${json}}`;
}
