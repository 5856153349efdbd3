import type { ConnectionStateChange } from "@threadline/client";

export type ConnectionLabel = "idle" | "connecting" | "live" | "reconnecting" | "resumed" | "gap" | "closed";

/**
 * What the console shows for the stream: `resumed` is a live connection that picked up after a known event
 * id; `gap` wins over live/resumed once the gateway said events were lost (REPLAY_TRUNCATED).
 */
export function connectionLabel(
  connection: ConnectionStateChange | undefined,
  open: boolean,
  gaps: number,
): ConnectionLabel {
  if (!open) return "idle";
  if (!connection) return "connecting";
  if (connection.state === "live") {
    if (gaps > 0) return "gap";
    return connection.resumed ? "resumed" : "live";
  }
  return connection.state;
}

export function connectionDetail(connection: ConnectionStateChange | undefined): string {
  if (!connection) return "";
  const parts: string[] = [];
  if (connection.role === "follower") parts.push("shared from another tab");
  if (connection.role === "leader") parts.push("this tab holds the connection");
  if (connection.state === "reconnecting") {
    parts.push(`attempt ${connection.attempt + 1}`);
    if (connection.reason) parts.push(connection.reason.replace(/_/g, " "));
    if (connection.delayMs !== undefined) parts.push(`next try in ${Math.round(connection.delayMs)} ms`);
  }
  if (connection.state === "live" && connection.resumed && connection.lastEventId)
    parts.push(`after ${connection.lastEventId}`);
  if (connection.state === "closed" && connection.reason) parts.push(connection.reason.replace(/_/g, " "));
  return parts.join(" · ");
}
