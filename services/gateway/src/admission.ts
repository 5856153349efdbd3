import { ERRORS } from "@threadline/protocol";
import { httpError } from "@threadline/server";

export interface AdmissionLimits {
  maxConnections: number;
  maxStreamsPerSubject: number;
  /** Sent as `Retry-After` on 503 and 429. */
  retryAfterSeconds: number;
}

export interface Lease {
  /** Idempotent. */
  release(): void;
}

export interface Admission {
  /** Takes a slot for a stream of `subject`, or throws 503 (instance full) / 429 (subject over its limit). */
  acquire(subject: string): Lease;
  readonly open: number;
}

/** Counts open streams per instance and per JWT `sub`; slots are taken before any await so bursts can't overshoot. */
export function createAdmission(limits: AdmissionLimits): Admission {
  let open = 0;
  const perSubject = new Map<string, number>();
  const retryAfter = { "retry-after": String(limits.retryAfterSeconds) };
  return {
    get open() {
      return open;
    },
    acquire(subject) {
      if (open >= limits.maxConnections) {
        throw httpError(
          ERRORS.TOO_MANY_CONNECTIONS,
          "this gateway is at MAX_CONNECTIONS; retry later or elsewhere",
          undefined,
          retryAfter,
        );
      }
      const mine = perSubject.get(subject) ?? 0;
      if (mine >= limits.maxStreamsPerSubject) {
        throw httpError(
          ERRORS.TOO_MANY_STREAMS,
          `this subject already has ${mine} open streams (MAX_STREAMS_PER_SUBJECT); close some first`,
          undefined,
          retryAfter,
        );
      }
      open += 1;
      perSubject.set(subject, mine + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          open -= 1;
          const left = (perSubject.get(subject) ?? 1) - 1;
          if (left > 0) perSubject.set(subject, left);
          else perSubject.delete(subject);
        },
      };
    },
  };
}
