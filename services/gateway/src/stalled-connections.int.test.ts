import { getTestRedis, openRawSocket, openSse, type TestRedis, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";

// REQUEST_TIMEOUT_MS bounds how long a connection may take to send a complete request; a live SSE
// stream (its request long complete) is never touched. Real sockets against a real gateway.
let redis: TestRedis;
let gw: TestGateway;
let port: number;
beforeAll(async () => {
  redis = await getTestRedis();
  gw = await startTestGateway(redis.url, { REQUEST_TIMEOUT_MS: "500", HEARTBEAT_INTERVAL_MS: "60000" });
  port = Number(new URL(gw.base).port);
});
afterAll(async () => {
  await gw?.close();
  await redis?.stop();
});

describe("connections that send no complete request (real sockets)", () => {
  it("closes a silent connection and one dribbling its headers, while an open SSE stream lives on", async () => {
    const threadId = uniqueId("idle");
    const stream = await openSse(gw.eventsUrl(threadId), {
      headers: { authorization: `Bearer ${gw.token()}` },
    });
    expect(stream.status).toBe(200);
    const silent = await openRawSocket(port);
    const dribbler = await openRawSocket(port, "GET /healthz HTTP/1.1\r\n");
    dribbler.dribble("Host: x\r\nX-Slow: 1234567890\r\n\r\n", 100);

    await expect.poll(() => silent.closed(), { timeout: 10_000 }).toBe(true);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(silent.received()).toContain('"code":"REQUEST_TIMEOUT"');
    await expect.poll(() => dribbler.closed(), { timeout: 10_000 }).toBe(true);

    // Well past the bound, the stream still delivers.
    await gw.redis.publish(`thread:${threadId}`, JSON.stringify({ type: "token", content: "still here" }));
    await stream.waitForEvents(1);
    expect(stream.closed).toBe(false);
    expect(stream.json()[0]).toMatchObject({ type: "token", content: "still here" });
    stream.close();
  });

  it("answers a request that arrives in time on the same kind of connection", async () => {
    const prompt = await openRawSocket(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await expect.poll(() => prompt.received(), { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 200 /);
    prompt.close();
  });
});
