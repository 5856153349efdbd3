import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { openSse, type SseConnection, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BEARER,
  type FaultStack,
  readThreadLog,
  startDemoRun,
  startFaultStack,
} from "./support/fault-stack.js";

const exec = promisify(execFile);

// One Redis, two gateways (dedicated and shared subscribers), one API, one worker: real processes.
// An operator pastes events carrying ids with redis-cli while a real run streams (issue 14, item 9).
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    gateways: 2,
    instanceEnv: (kind, i) =>
      kind === "gateway" ? { SUBSCRIBER_MODE: i === 1 ? "dedicated" : "shared" } : undefined,
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function redisCli(...args: string[]): Promise<string> {
  const { port } = new URL(stack.redis.url);
  const { stdout } = await exec("redis-cli", ["-p", port, ...args]);
  return stdout.trim();
}

interface Received {
  id?: string;
  runId?: string;
  seq?: number;
  type: string;
  content: unknown;
}

describe("hand-published ids (real processes, real redis-cli)", () => {
  it("a forged future id, then a real run: every real event arrives, on both subscriber modes, across a subscriber kill", {
    timeout: 90_000,
  }, async () => {
    const threadId = uniqueId("forged");
    const clients: SseConnection[] = [];
    try {
      for (const gw of stack.gateways) {
        for (let i = 0; i < 2; i++) {
          clients.push(
            await openSse(`${gw.url}/v1/threads/${threadId}/events`, { headers: { authorization: BEARER } }),
          );
        }
      }
      expect(clients.map((c) => c.status)).toEqual([200, 200, 200, 200]);
      // What an operator pasting an event from a log (or another thread) publishes: an id far ahead.
      const forged = '{"id":"9999999999999-0","type":"token","content":"pasted from a log"}';
      expect(Number(await redisCli("publish", `thread:${threadId}`, forged))).toBeGreaterThan(0);
      for (const c of clients) await c.waitForEvents(1, 10_000);

      const runId = await startDemoRun(stack.api.url, threadId, {
        prompt: "forged ids must not hide this",
        tokensPerSecond: 40,
        maxTokens: 40,
      });
      const ofRun = (c: SseConnection) => c.json<Received>().filter((e) => e.runId === runId);
      await clients[0]!.waitFor((c) => ofRun(c).length >= 8, 30_000);
      // Mid-run: another forged id (a near-future one), then every subscriber connection is killed, so
      // each gateway backfills from a position it must check against the log, not take from the forgery.
      const nearFuture = `${Date.now() + 60_000}-0`;
      await redisCli(
        "publish",
        `thread:${threadId}`,
        JSON.stringify({ id: nearFuture, type: "token", content: "typed by hand" }),
      );
      await redisCli("client", "kill", "type", "pubsub");

      for (const c of clients) await c.waitFor((x) => ofRun(x).some((e) => e.type === "done"), 60_000);
      const log = await readThreadLog(stack.api.url, threadId);
      expect(log.at(-1)?.type).toBe("done");
      for (const c of clients) {
        const real = ofRun(c);
        expect(
          real.map((e) => e.id),
          "exactly the replay log, once each, in order",
        ).toEqual(log.map((e) => e.id));
        expect(real.map((e) => e.seq)).toEqual(real.map((_, i) => i + 1));
        expect(c.events.some((e) => e.event === "stream-error" || e.event === "run-error")).toBe(false);
      }

      // A client whose Last-Event-ID became the forged id is told its position is not in the log, then
      // gets everything retained: loud, never a silent skip.
      const resumed = await openSse(`${stack.gateways[0]!.url}/v1/threads/${threadId}/events`, {
        headers: { authorization: BEARER },
        lastEventId: "9999999999999-0",
      });
      clients.push(resumed);
      await resumed.waitFor((c) => c.json<Received>().some((e) => e.type === "done"), 10_000);
      const [first, ...rest] = resumed.json<Received>();
      expect(first).toMatchObject({ type: "error", content: { code: "REPLAY_TRUNCATED" } });
      expect(rest.map((e) => e.id)).toEqual(log.map((e) => e.id));
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${stack.logs()}`, { cause: error });
    } finally {
      for (const c of clients) c.close();
    }
  });
});
