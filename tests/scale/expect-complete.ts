import { expect } from "vitest";
import type { ReceivedEvent } from "./run-client.js";

/**
 * What a client of a finished run must have seen: exactly the thread's replay log, in order — no
 * event lost, none duplicated — with gap-free seqs ending in `done { finishReason: "stop" }`.
 */
export function expectCompleteRun(events: ReceivedEvent[], log: ReceivedEvent[], runId: string): void {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, "no event delivered twice").toBe(ids.length);
  expect(ids, "exactly the replay log, in order").toEqual(log.map((e) => e.id));
  const ofRun = events.filter((e) => e.runId === runId);
  expect(ofRun.map((e) => e.seq)).toEqual(ofRun.map((_, i) => i + 1));
  expect(ofRun.at(-1)).toMatchObject({ type: "done", content: { finishReason: "stop" } });
  expect(ofRun.filter((e) => e.type === "token").length).toBeGreaterThan(0);
}
