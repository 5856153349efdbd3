import { openRawSocket, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

// REQUEST_TIMEOUT_MS: a body dribbled a byte at a time, or a connection that says nothing, is closed
// instead of holding a file descriptor for good. Real sockets against a listening API.
let h: ApiHarness;
let port: number;
beforeAll(async () => {
  h = await startApiHarness({ REQUEST_TIMEOUT_MS: "500" });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  port = (h.app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await h?.close();
});

describe("connections that send no complete request (real sockets)", () => {
  it("closes a connection dribbling a POST body and one that sends nothing", async () => {
    const body = JSON.stringify({ input: { prompt: "slow" } });
    const dribbler = await openRawSocket(
      port,
      `POST /v1/threads/${uniqueId("t")}/runs HTTP/1.1\r\nHost: x\r\nAuthorization: ${h.bearer("alice")}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    dribbler.dribble(body, 100);
    const silent = await openRawSocket(port);

    await expect.poll(() => silent.closed(), { timeout: 10_000 }).toBe(true);
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    await expect.poll(() => dribbler.closed(), { timeout: 10_000 }).toBe(true);
    // The run was never created: the body never arrived whole.
    expect(dribbler.received()).not.toMatch(/^HTTP\/1\.1 202 /);
  });

  it("keeps answering requests that arrive whole", async () => {
    const prompt = await openRawSocket(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await expect.poll(() => prompt.received(), { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 200 /);
    prompt.close();
  });
});
