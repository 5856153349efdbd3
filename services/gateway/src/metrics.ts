import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The gateway's Prometheus metrics. Labels never carry thread ids or subjects (unbounded cardinality). */
export interface GatewayMetrics {
  registry: Registry;
  openStreams: Gauge;
  eventsDelivered: Counter<"source">;
  /** `eventsDelivered` bound to each source once: a labelled inc() hashes its labels on every call. */
  liveDelivered: { inc(): void };
  replayDelivered: { inc(): void };
  deliveryLag: Histogram;
  replayedEvents: Counter;
  invalidMessages: Counter<"reason">;
  slowConsumerCutoffs: Counter;
  authFailures: Counter<"reason">;
  rejectedStreams: Counter<"reason">;
  resubscribes: Counter;
}

export function createGatewayMetrics(registry: Registry = new Registry()): GatewayMetrics {
  collectDefaultMetrics({ register: registry, prefix: "threadline_gateway_" });
  const registers = [registry];
  const eventsDelivered = new Counter({
    name: "threadline_gateway_events_delivered_total",
    help: "Events written to SSE clients, by source (live or replay)",
    labelNames: ["source"] as const,
    registers,
  });
  return {
    registry,
    openStreams: new Gauge({
      name: "threadline_gateway_open_streams",
      help: "SSE streams open now",
      registers,
    }),
    eventsDelivered,
    liveDelivered: eventsDelivered.labels("live"),
    replayDelivered: eventsDelivered.labels("replay"),
    deliveryLag: new Histogram({
      name: "threadline_gateway_delivery_lag_seconds",
      help: "Time from an event's ts to its write to a client (live events only)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    replayedEvents: new Counter({
      name: "threadline_gateway_replayed_events_total",
      help: "Events replayed from the log (resume and backfill after a subscriber reconnect)",
      registers,
    }),
    invalidMessages: new Counter({
      name: "threadline_gateway_invalid_messages_dropped_total",
      help: "Channel or log messages dropped because they are not valid events, by reason",
      labelNames: ["reason"],
      registers,
    }),
    slowConsumerCutoffs: new Counter({
      name: "threadline_gateway_slow_consumer_cutoffs_total",
      help: "Streams cut off because unsent bytes passed SSE_MAX_BUFFER_BYTES",
      registers,
    }),
    authFailures: new Counter({
      name: "threadline_gateway_auth_failures_total",
      help: "Stream requests refused by authentication or authorization, by reason",
      labelNames: ["reason"],
      registers,
    }),
    rejectedStreams: new Counter({
      name: "threadline_gateway_rejected_streams_total",
      help: "Stream requests refused by a limit (max_connections, max_streams_per_subject) or Redis being unavailable",
      labelNames: ["reason"],
      registers,
    }),
    resubscribes: new Counter({
      name: "threadline_gateway_resubscribes_total",
      help: "Subscriptions restored after a Redis reconnect (each followed by a backfill from the log)",
      registers,
    }),
  };
}
