import { preview, type RejectReason } from "@threadline/protocol";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.js";

export interface JunkReporter {
  report(threadId: string, raw: Buffer | string, reason: RejectReason, detail: string): void;
}

/**
 * Logs and counts a dropped channel message once. In dedicated mode every subscriber connection
 * receives its own copy of the same junk, so identical reports within `windowMs` are folded into
 * the first: one warn line (with a truncated preview) and one count per message, not per client.
 */
export function createJunkReporter(
  log: Logger,
  metrics: GatewayMetrics,
  windowMs = 1_000,
  now = Date.now,
): JunkReporter {
  const seen = new Map<string, number>();
  return {
    report(threadId, raw, reason, detail) {
      const text = typeof raw === "string" ? raw : raw.subarray(0, 256).toString("utf8");
      const bytes = typeof raw === "string" ? Buffer.byteLength(raw) : raw.length;
      const key = `${threadId}\u0000${reason}\u0000${bytes}\u0000${text}`;
      const t = now();
      if ((seen.get(key) ?? 0) > t) return;
      if (seen.size >= 1_000) seen.clear();
      seen.set(key, t + windowMs);
      metrics.invalidMessages.inc({ reason });
      log.warn(
        { threadId, reason, bytes, detail: preview(detail, 200), sample: preview(text, 80) },
        "dropped invalid message",
      );
    },
  };
}
