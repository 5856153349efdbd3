import { isThreadId, WsClientMessage } from "@threadline/protocol";

export type ParsedWsMessage =
  | { ok: true; message: WsClientMessage }
  /** `message` says what is wrong (for an INVALID_MESSAGE frame); `threadId` when the message named a valid one. */
  | { ok: false; message: string; threadId?: string };

/** One client frame → a validated message, or what is wrong with it (never echoing a token). */
export function parseWsMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParsedWsMessage {
  if (isBinary) return { ok: false, message: "binary frames are not accepted: send JSON in text frames" };
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  const text = bytes.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the message is not JSON: send one object with a "type" per frame' };
  }
  const result = WsClientMessage.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  const fields = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
  const type = typeof fields.type === "string" ? fields.type.slice(0, 40) : undefined;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  const threadId =
    typeof fields.threadId === "string" && isThreadId(fields.threadId) ? fields.threadId : undefined;
  return {
    ok: false,
    message: `invalid ${type ? `"${type}" ` : ""}message: ${where}${issue?.message ?? "not accepted"}`,
    ...(threadId ? { threadId } : {}),
  };
}
