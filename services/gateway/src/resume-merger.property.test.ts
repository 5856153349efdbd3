import type { ThreadEvent } from "@threadline/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createResumeMerger, type LiveMessage, type ReplayPage } from "./resume-merger.js";

/**
 * The merger against a simple model of Redis: a log of real events (ids in order), a pub/sub channel
 * that delivers in order but loses everything while the subscriber is down, and log reads that execute
 * at Redis at one moment and answer later (so live messages and pages race both ways). Hand publishers
 * add id-less messages, ids from the future, and real ids with other bytes. The model's answer: every
 * real event after the start position arrives exactly once, in log order, with no gap signal.
 */
type Action =
  | { kind: "publish" }
  | { kind: "forge"; variant: "future" | "predict" | "noid"; n: number }
  | { kind: "deliver" }
  | { kind: "lose" }
  | { kind: "reconnect" }
  | { kind: "confirm" }
  | { kind: "execute" }
  | { kind: "answer" };

const PAGE = 3;
const idOf = (i: number) => `${1_000_000 + i}-0`;
const realJson = (i: number) =>
  `{"id":"${idOf(i)}","type":"token","threadId":"t","ts":1,"content":"real ${i}"}`;
const message = (json: string): LiveMessage => ({
  event: JSON.parse(json) as ThreadEvent,
  json,
  bytes: json.length,
});

function run(initial: number, start: "live" | number, actions: Action[]) {
  const log: number[] = Array.from({ length: initial }, (_, i) => i);
  const channel: string[] = [];
  let subscribed = true;
  let reconnected = false;
  let request: string | undefined;
  let executed: ReplayPage | undefined;
  const delivered: string[] = [];
  const gaps: string[] = [];

  const readPage = (after: string): ReplayPage => {
    const at = log.findIndex((i) => idOf(i) === after);
    const from = after === "0" ? 0 : at >= 0 ? at + 1 : 0;
    const rows = log.slice(from, from + PAGE);
    return {
      entries: rows.map((i) => ({ id: idOf(i), json: realJson(i) })),
      truncated: after !== "0" && at < 0,
      more: log.length > from + PAGE,
      ...(at >= 0 ? { anchor: realJson(log[at] as number) } : {}),
    };
  };
  const merger = createResumeMerger(
    { resumeFrom: start === "live" ? undefined : start < 0 ? "0" : idOf(start) },
    {
      send: (d) => delivered.push(d.json),
      gap: (after) => gaps.push(after),
      read: (after) => {
        request = after;
      },
    },
  );
  const expectedFrom = start === "live" ? initial : start < 0 ? 0 : start + 1;
  merger.start(initial > 0 ? idOf(initial - 1) : "0");

  const step = (a: Action) => {
    switch (a.kind) {
      case "publish":
        log.push(log.length);
        if (subscribed) channel.push(realJson(log.length - 1));
        break;
      case "forge": {
        const id =
          a.variant === "future"
            ? `${9_000_000 + a.n}-0`
            : a.variant === "predict"
              ? idOf(log.length + a.n)
              : "";
        const json = id
          ? `{"id":"${id}","type":"token","threadId":"t","ts":1,"content":"forged ${a.n}"}`
          : `{"type":"token","threadId":"t","ts":1,"content":"hand ${a.n}"}`;
        if (subscribed) channel.push(json);
        break;
      }
      case "deliver": {
        const next = channel.shift();
        if (next !== undefined) merger.live(message(next));
        break;
      }
      case "lose":
        if (!subscribed) break;
        subscribed = false;
        reconnected = false;
        channel.length = 0;
        merger.lost();
        break;
      case "reconnect":
        if (!subscribed) {
          subscribed = true;
          reconnected = true;
        }
        break;
      case "confirm":
        if (reconnected) {
          reconnected = false;
          merger.restored();
        }
        break;
      case "execute":
        if (request !== undefined && executed === undefined) {
          executed = readPage(request);
          request = undefined;
        }
        break;
      case "answer":
        if (executed) {
          const page = executed;
          executed = undefined;
          merger.page(page);
        }
        break;
    }
  };
  for (const a of actions) step(a);
  // Quiesce: the subscriber comes back, every message and read completes.
  for (let i = 0; i < 10_000; i++) {
    if (!subscribed) step({ kind: "reconnect" });
    if (reconnected) step({ kind: "confirm" });
    if (channel.length > 0) step({ kind: "deliver" });
    else if (request !== undefined) step({ kind: "execute" });
    else if (executed) step({ kind: "answer" });
    else break;
  }
  const real = new Set(log.map(realJson));
  return {
    realDelivered: delivered.filter((json) => real.has(json)),
    expected: log.slice(expectedFrom).map(realJson),
    gaps,
    buffering: merger.buffering,
  };
}

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "publish" as const }) },
  { weight: 6, arbitrary: fc.constant({ kind: "deliver" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("forge" as const),
      variant: fc.constantFrom("future" as const, "predict" as const, "noid" as const),
      n: fc.nat(5),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "lose" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "reconnect" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "confirm" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "execute" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "answer" as const }) },
);

describe("resume merger against a model of Redis (property)", () => {
  it("delivers every real event after the start exactly once, in log order, whatever the interleaving", () => {
    fc.assert(
      fc.property(
        fc.nat(8),
        fc.oneof(fc.constant("live" as const), fc.integer({ min: -1, max: 7 })),
        fc.array(action, { maxLength: 80 }),
        (initial, start, actions) => {
          const position = start === "live" ? start : Math.min(start, initial - 1);
          const result = run(initial, position, actions);
          expect(result.realDelivered).toEqual(result.expected);
          expect(result.gaps).toEqual([]);
          expect(result.buffering).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
