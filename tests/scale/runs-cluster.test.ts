import { uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { defineRunsSuite } from "../e2e/runs-suite.js";
import { expectCompleteRun } from "./expect-complete.js";
import { openThread, readThreadLog, received, sawDone, startDemoRun } from "./run-client.js";

// The runs issue's end-to-end suite, unchanged, on a local 3-master Redis Cluster (sharded pub/sub,
// `{…}` queue prefix), plus pub/sub connections killed on every master mid-run.
defineRunsSuite({ cluster: true }, (getStack) => {
  describe("on the cluster: CLIENT KILL TYPE pubsub on every master mid-run", () => {
    it("loses nothing: every stream ends with exactly the thread's log", async () => {
      const stack = getStack();
      const threads = Array.from({ length: 6 }, () => uniqueId("kill-pubsub"));
      const streams = await Promise.all(threads.map((t) => openThread(stack.gateway.url, t)));
      const runIds: string[] = [];
      for (const t of threads) {
        // The suite's worker set may run one job at a time each: keep runs short but long enough to cut.
        runIds.push(await startDemoRun(stack.api.url, t, { prompt: t, tokensPerSecond: 60, maxTokens: 30 }));
      }
      await streams[0]!.waitFor((c) => c.events.length >= 6, 20_000);
      const killed = await Promise.all(
        stack.cluster!.nodes.map(async ({ host, port }) => {
          const admin = new Redis(port, host);
          try {
            return Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"));
          } finally {
            admin.disconnect();
          }
        }),
      );
      expect(killed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      await Promise.all(streams.map((s) => s.waitFor(sawDone, 60_000)));
      for (const s of streams) s.close();
      for (const [i, threadId] of threads.entries()) {
        expectCompleteRun(received(streams[i]!), await readThreadLog(stack.api.url, threadId), runIds[i]!);
      }
    }, 90_000);
  });
});
