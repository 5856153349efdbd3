import {
  type ConnectionStateChange,
  openRawEventStream,
  type RawSseMessage,
  ThreadlineError,
} from "@threadline/client";
import { CliError } from "./cli-error.js";
import { unreachable } from "./http-request.js";

/** One SSE message of a thread: the raw `data` JSON exactly as the gateway sent it. */
export interface TailMessage extends RawSseMessage {
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

/**
 * A thread's SSE stream for `tail`: @threadline/client's raw mode does the work (reconnects with backoff
 * from the server's `retry:` hint and `Retry-After`, resumes with `Last-Event-ID`, re-mints the token after
 * TOKEN_EXPIRED, ends after the run with `untilDone`); here its state changes become one-line notices, and
 * what a CLI must not retry forever becomes a one-line error: a refused request, a gateway never reached.
 */
export async function* tailStream(options: TailOptions): AsyncGenerator<TailMessage, void, undefined> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  let connectedOnce = false;
  let failure: CliError | undefined;
  const onStateChange = (change: ConnectionStateChange) => {
    if (change.state === "live") {
      connectedOnce = true;
      options.onNotice({ type: "connected", resumedAfter: change.resumed ? change.lastEventId : undefined });
    } else if (change.state === "reconnecting") {
      if (!connectedOnce && change.reason === "network") {
        failure = unreachable(
          { service: "gateway", urlVariable: "THREADLINE_GATEWAY_URL", url: options.gatewayUrl },
          change.error,
        );
        stop.abort();
        return;
      }
      options.onNotice({
        type: "reconnecting",
        reason: describe(change),
        delayMs: change.delayMs ?? 0,
        lastEventId: change.lastEventId,
      });
    }
  };
  const stream = openRawEventStream(
    {
      gatewayUrl: options.gatewayUrl,
      getToken: () => options.getToken(),
      fetch: (url, init) => fetch(url, init),
    },
    options.threadId,
    {
      from: options.fromStart ? "start" : "live",
      untilDone: options.untilDone,
      signal: stop.signal,
      heartbeatTimeoutMs: options.idleTimeoutMs ?? 45_000,
      backoff: { maxDelayMs: options.maxDelayMs ?? 10_000 },
      onStateChange,
    },
  );
  try {
    for await (const message of stream) yield { ...message, value: parseObject(message.data) };
  } catch (error) {
    if (error instanceof ThreadlineError) throw new CliError(`gateway ${error.status}: ${errorText(error)}`);
    throw error;
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    stop.abort();
  }
  if (failure) throw failure;
}

function describe(change: ConnectionStateChange): string {
  const error = change.error;
  switch (change.reason) {
    case "server_closed":
      return "server closed the stream";
    case "heartbeat_timeout":
      return "no data or keepalive for too long";
    case "token_expired":
      // In band (TOKEN_EXPIRED), or a 401 the client retries once with a fresh token.
      return error instanceof ThreadlineError
        ? `gateway ${error.status}: ${errorText(error)}; retrying with a fresh token`
        : "token expired";
    case "http_error":
      return error instanceof ThreadlineError
        ? `gateway ${error.status}: ${errorText(error)}`
        : "gateway error";
    default: {
      const cause = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
      return `connection lost (${cause ?? (error as Error | undefined)?.message ?? change.reason})`;
    }
  }
}

/** `CODE: message` for the contract's error bodies; the client's summary of any other body. */
function errorText(error: ThreadlineError): string {
  return error.code === `HTTP_${error.status}` ? error.message : `${error.code}: ${error.message}`;
}

function parseObject(data: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {}
  return undefined;
}
