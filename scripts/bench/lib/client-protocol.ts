/** Messages between the load client's coordinator and its threads. */
export interface ConnSpec {
  url: string;
  headers: Record<string, string>;
  /** Index of the thread (channel) this connection watches; expected counts are kept per index. */
  thread: number;
}

export type ClientRequest =
  | { op: "open"; conns: ConnSpec[]; concurrency: number }
  | { op: "step"; step: number }
  | { op: "counts" }
  | { op: "collect"; expectedByThread: number[] }
  | { op: "close" };

export interface StepStats {
  received: number;
  lost: number;
  dup: number;
  reorder: number;
  /** Events of an earlier step that arrived late (after the drain window). */
  stale: number;
  /** Connections the server ended while the step ran. */
  closed: number;
  /** HdrHistogram of publish→receive µs, compressed base64. */
  histogram: string;
  /** The worst publish→receive µs among events received in each second since the step began. */
  maxBySecondUs: number[];
}

export type ClientReply = { ok: number; failed: number; errors: string[] } | Counts | StepStats;

export interface Counts {
  /** Connections that received a warm-up (step 0) event. */
  warm: number;
  open: number;
  /** Unique events received in the current step. */
  received: number;
}
