import { expect } from "vitest";
import type { ReceivedEvent } from "./resuming-client.js";

/**
 * The fault suite's one assertion: the client saw every event of the run exactly once, in order —
 * byte for byte the replay log's ids — with `seq` 1…n and `done` last.
 */
export function expectExactlyOnce(events: ReceivedEvent[], log: ReceivedEvent[], runId: string): void {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size, "no event delivered twice").toBe(ids.length);
  expect(ids, "exactly the replay log, in order").toEqual(log.map((e) => e.id));
  const ofRun = events.filter((e) => e.runId === runId);
  expect(
    ofRun.map((e) => e.seq),
    "seq 1…n",
  ).toEqual(ofRun.map((_, i) => i + 1));
  expect(ofRun.at(-1)?.type).toBe("done");
  expect(ofRun.filter((e) => e.type === "token").length).toBeGreaterThan(3);
}
