import http from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_JSON_DEPTH } from "@threadline/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

// Issue 14 items 11 (validation part) and 12: the edges of the contract, from outside.
let h: ApiHarness;
let base: string;
beforeAll(async () => {
  h = await startApiHarness();
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

const admin = () => ({ authorization: h.bearer("admin", { role: "admin" }) });

/** `levels` nested objects as JSON text (JSON.stringify itself overflows on such a value). */
function nestedJson(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{"leaf":1}${"}".repeat(levels - 1)}`;
}

/** A raw request (fetch refuses some of what we send): status and parsed body. */
function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("error", reject);
  });
}

describe("thread ids of 101-128 characters (valid per the contract)", () => {
  it("are accepted by every route, like the gateway does", async () => {
    const threadId = "t".repeat(128);
    const created = await fetch(`${base}/v1/threads/${threadId}/runs`, {
      method: "POST",
      headers: { ...admin(), "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "hi", maxTokens: 1 } }),
    });
    expect(created.status).toBe(202);
    const { runId } = (await created.json()) as { runId: string };
    expect((await fetch(`${base}/v1/threads/${threadId}/runs/${runId}`, { headers: admin() })).status).toBe(
      200,
    );
    expect((await fetch(`${base}/v1/threads/${threadId}/events`, { headers: admin() })).status).toBe(200);
  });

  it("a 129-character id is a 400 naming threadId", async () => {
    const res = await fetch(`${base}/v1/threads/${"t".repeat(129)}/runs`, { headers: admin() });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: "INVALID_PARAMS", message: expect.stringContaining("threadId:") },
    });
  });
});

describe("414 and 431 answer in the contract's shape", () => {
  it("414 URI_TOO_LONG for a path segment past the router's limit", async () => {
    const res = await raw(`/v1/threads/${"t".repeat(300)}/runs`, admin());
    expect(res).toEqual({
      status: 414,
      body: { error: { code: "URI_TOO_LONG", message: expect.any(String) } },
    });
  });

  it("431 HEADERS_TOO_LARGE for headers past Node's limit", async () => {
    const res = await raw("/v1/threads/t/runs", { ...admin(), "x-padding": "p".repeat(20_000) });
    expect(res).toEqual({
      status: 431,
      body: { error: { code: "HEADERS_TOO_LARGE", message: expect.any(String) } },
    });
  });
});

describe("a resume id beyond 64 bits", () => {
  it("is a 400 INVALID_QUERY naming after, not a 500", async () => {
    for (const after of ["18446744073709551616-0", "1-99999999999999999999"]) {
      const res = await fetch(`${base}/v1/threads/t64/events?after=${after}`, { headers: admin() });
      expect(res.status, after).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: "INVALID_QUERY", message: expect.stringContaining("after:") },
      });
    }
    const max = await fetch(`${base}/v1/threads/t64/events?after=18446744073709551615-0`, {
      headers: admin(),
    });
    expect(max.status).toBe(200);
  });
});

describe("deeply nested metadata or input", () => {
  it.each(["metadata", "input"])(
    "%s nested 20,000 levels is a 400 naming the field; nothing is claimed",
    async (field) => {
      const threadId = `deep-${field}`;
      const deep = nestedJson(20_000);
      const body = field === "input" ? `{"input":${deep}}` : `{"input":{"prompt":"x"},"metadata":${deep}}`;
      const res = await fetch(`${base}/v1/threads/${threadId}/runs`, {
        method: "POST",
        headers: { ...admin(), "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("INVALID_BODY");
      expect(error.message).toContain(`${field}: nests deeper than ${MAX_JSON_DEPTH} levels`);
      expect(await h.redis.exists(`{thread:${threadId}}:meta`)).toBe(0);
    },
  );
});
