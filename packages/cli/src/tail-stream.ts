import { SSE_EVENT_NAMES, STREAM_ERROR_CODES } from "@threadline/protocol";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { CliError } from "./cli-error.js";
import { errorBodyText, unreachable } from "./http-request.js";
import { sleep } from "./sleep.js";

/** One SSE message of a thread: the raw `data` JSON exactly as the gateway sent it. */
export interface TailMessage {
  id: string | undefined;
  event: string;
  data: string;
  /** `data` parsed; `undefined` when it is not JSON (never expected from the gateway). */
  value: Record<string, unknown> | undefined;
}

export type TailNotice =
  | { type: "connected"; resumedAfter: string | undefined }
  | { type: "reconnecting"; reason: string; delayMs: number; lastEventId: string | undefined };

export interface TailOptions {
  gatewayUrl: string;
  threadId: string;
  /** Called before every connection: a token that expired mid-stream is replaced by a fresh one. */
  getToken: () => string;
  fromStart: boolean;
  /** Ask the gateway for `?until=done` and stop after the first `done` or run `error`. */
  untilDone: boolean;
  signal: AbortSignal;
  onNotice: (notice: TailNotice) => void;
  /** Reconnect when nothing (not even a keepalive) arrives for this long. Default 45 s (3 heartbeats). */
  idleTimeoutMs?: number;
  maxDelayMs?: number;
}

const FATAL_STATUSES = new Set([400, 401, 403, 404]);

/**
 * A thread's SSE stream that survives disconnects: reconnects with jittered exponential backoff (from the
 * server's `retry:` hint), resumes with `Last-Event-ID`, re-mints the token after TOKEN_EXPIRED, and ends
 * on `signal` or, with `untilDone`, after the run's terminal event.
 */
export async function* tailStream(options: TailOptions): AsyncGenerator<TailMessage, void, undefined> {
  const base = `${options.gatewayUrl}/v1/threads/${encodeURIComponent(options.threadId)}/events`;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  let retryMs = 1_000;
  let lastEventId: string | undefined;
  let failures = 0;
  let connectedOnce = false;
  while (!options.signal.aborted) {
    const query = new URLSearchParams();
    if (options.untilDone) query.set("until", "done");
    if (!lastEventId && options.fromStart) query.set("after", "0");
    const url = query.size > 0 ? `${base}?${query}` : base;
    const controller = new AbortController();
    const abort = () => controller.abort();
    options.signal.addEventListener("abort", abort, { once: true });
    let idleTimer: NodeJS.Timeout | undefined;
    let idle = false;
    const arm = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        controller.abort();
      }, options.idleTimeoutMs ?? 45_000);
    };
    let reason = "server closed the stream";
    let retryAfterMs = 0;
    try {
      arm();
      const response = await fetch(url, {
        headers: {
          accept: "text/event-stream",
          authorization: `Bearer ${options.getToken()}`,
          ...(lastEventId ? { "last-event-id": lastEventId } : {}),
        },
        signal: controller.signal,
      });
      if (response.status !== 200) {
        const text = await response.text().catch(() => "");
        const detail = errorBodyText(text);
        if (FATAL_STATUSES.has(response.status)) throw new CliError(`gateway ${response.status}: ${detail}`);
        reason = `gateway ${response.status}: ${detail}`;
        retryAfterMs = Number(response.headers.get("retry-after") ?? 0) * 1000 || 0;
      } else if (!response.body) {
        reason = "gateway sent no body";
      } else {
        failures = 0;
        connectedOnce = true;
        options.onNotice({ type: "connected", resumedAfter: lastEventId });
        const pending: EventSourceMessage[] = [];
        const parser = createParser({
          onEvent: (message) => pending.push(message),
          onRetry: (ms) => {
            retryMs = ms;
          },
        });
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          arm();
          parser.feed(decoder.decode(chunk, { stream: true }));
          for (const message of pending.splice(0)) {
            const tail = toTailMessage(message);
            if (tail.id) lastEventId = tail.id;
            const code = errorCode(tail);
            if (code === STREAM_ERROR_CODES.tokenExpired) {
              reason = "token expired";
              retryMs = 0;
              break;
            }
            yield tail;
            if (options.untilDone && isRunEnd(tail, code)) return;
          }
          if (reason === "token expired") break;
        }
      }
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof CliError) throw error;
      if (idle) reason = "no data or keepalive for too long";
      else if (!connectedOnce) throw unreachable(gatewayReq(url), error);
      else
        reason = `connection lost (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`;
    } finally {
      clearTimeout(idleTimer);
      options.signal.removeEventListener("abort", abort);
      controller.abort();
    }
    if (options.signal.aborted) return;
    const delayMs =
      reason === "token expired"
        ? 0
        : Math.max(
            retryAfterMs,
            Math.round(Math.min(maxDelayMs, retryMs * 2 ** failures) * (0.5 + Math.random() / 2)),
          );
    failures += reason === "token expired" ? 0 : 1;
    options.onNotice({ type: "reconnecting", reason, delayMs, lastEventId });
    await sleep(delayMs, options.signal);
  }
}

function toTailMessage(message: EventSourceMessage): TailMessage {
  let value: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(message.data);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      value = parsed as Record<string, unknown>;
  } catch {}
  return { id: message.id || undefined, event: message.event ?? "message", data: message.data, value };
}

function errorCode(message: TailMessage): string | undefined {
  if (message.event !== SSE_EVENT_NAMES.streamError && message.event !== SSE_EVENT_NAMES.runError)
    return undefined;
  const content = message.value?.content as { code?: unknown } | undefined;
  return typeof content?.code === "string" ? content.code : undefined;
}

/** A run ended: `done`, or an error other than the REPLAY_TRUNCATED notice (the replay follows it). */
function isRunEnd(message: TailMessage, code: string | undefined): boolean {
  return (
    message.event === "done" ||
    message.event === SSE_EVENT_NAMES.runError ||
    (message.event === SSE_EVENT_NAMES.streamError && code !== STREAM_ERROR_CODES.replayTruncated)
  );
}

function gatewayReq(url: string) {
  return { service: "gateway", urlVariable: "THREADLINE_GATEWAY_URL", url };
}
