import { uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "./test-support/api-harness.js";

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ BODY_LIMIT_BYTES: "4096" });
});
afterAll(async () => {
  await h?.close();
});

function post(payload: string, contentType = "application/json", threadId = uniqueId()) {
  return h.app.inject({
    method: "POST",
    url: `/v1/threads/${threadId}/runs`,
    headers: { authorization: h.bearer("alice"), "content-type": contentType },
    payload,
  });
}

describe("request validation (errors name the failing field)", () => {
  it.each([
    ["a missing input", {}, "INVALID_BODY", "input"],
    ["input of the wrong type", { input: "hi" }, "INVALID_BODY", "input"],
    ["a bad metadata", { input: { prompt: "x" }, metadata: [1] }, "INVALID_BODY", "metadata"],
    [
      "a bad onDisconnect",
      { input: { prompt: "x" }, onDisconnect: { cancelAfterMs: 5 } },
      "INVALID_BODY",
      "onDisconnect.cancelAfterMs",
    ],
    ["a missing prompt", { input: {} }, "INVALID_INPUT", "input.prompt"],
    ["a prompt of the wrong type", { input: { prompt: 42 } }, "INVALID_INPUT", "input.prompt"],
    ["an unknown demo field", { input: { prompt: "x", speed: 3 } }, "INVALID_INPUT", "input"],
    [
      "a maxTokens out of range",
      { input: { prompt: "x", maxTokens: 0 } },
      "INVALID_INPUT",
      "input.maxTokens",
    ],
    ["an unknown agent", { agent: "nope", input: { prompt: "x" } }, "UNKNOWN_AGENT", "agent"],
  ])("400 for %s", async (_name, body, code, path) => {
    const threadId = uniqueId();
    const res = await post(JSON.stringify(body), "application/json", threadId);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe(code);
    expect(error.message).toContain(`${path}:`);
    expect(error.details.issues).toContainEqual(expect.objectContaining({ path }));
    // A refused request claims nothing.
    expect(await h.redis.exists(`{thread:${threadId}}:meta`)).toBe(0);
  });

  it("400 for a body that is not JSON, and for an empty one naming input", async () => {
    const broken = await post('{"input": {');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe("INVALID_BODY");
    const empty = await post("");
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.message).toContain("input:");
  });

  it("400 naming threadId for a malformed thread id", async () => {
    const res = await post(JSON.stringify({ input: { prompt: "x" } }), "application/json", "bad%20id");
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: "INVALID_PARAMS",
      message: expect.stringContaining("threadId:"),
    });
  });

  it("400 naming the query field for a bad after or limit", async () => {
    const threadId = uniqueId();
    const auth = { authorization: h.bearer("admin", { role: "admin" }) };
    const after = await h.app.inject({
      url: `/v1/threads/${threadId}/events?after=yesterday`,
      headers: auth,
    });
    expect(after.statusCode).toBe(400);
    expect(after.json().error).toMatchObject({
      code: "INVALID_QUERY",
      message: expect.stringContaining("after:"),
    });
    const limit = await h.app.inject({ url: `/v1/threads/${threadId}/events?limit=0`, headers: auth });
    expect(limit.statusCode).toBe(400);
    expect(limit.json().error.message).toContain("limit: must be at least 1");
  });

  it("413 over BODY_LIMIT_BYTES", async () => {
    const res = await post(JSON.stringify({ input: { prompt: "x".repeat(5000) } }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("BODY_TOO_LARGE");
  });

  it("415 for a body that is not application/json", async () => {
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await post(JSON.stringify({ input: { prompt: "x" } }), type);
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
    const charset = await post(JSON.stringify({ input: { prompt: "x" } }), "application/json; charset=utf-8");
    expect(charset.statusCode).toBe(202);
  });
});

describe("authentication (Bearer header only)", () => {
  const url = () => `/v1/threads/${uniqueId()}/runs`;

  it("401 without a token, with a malformed header, with a bad or expired token", async () => {
    const missing = await h.app.inject({ url: url() });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    expect(missing.json().error.code).toBe("TOKEN_MISSING");
    const malformed = await h.app.inject({ url: url(), headers: { authorization: "Token abc" } });
    expect(malformed.json().error).toMatchObject({
      code: "TOKEN_INVALID",
      message: expect.stringContaining("Bearer"),
    });
    const forged = await h.app.inject({ url: url(), headers: { authorization: "Bearer a.b.c" } });
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error.code).toBe("TOKEN_INVALID");
    const expired = await h.app.inject({
      url: url(),
      headers: { authorization: h.bearer("alice", { ttlSeconds: -60 }) },
    });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe("TOKEN_EXPIRED");
  });

  it("refuses a token in the query string with its own code, even a valid one", async () => {
    const token = h.bearer("alice").slice("Bearer ".length);
    const res = await h.app.inject({ url: `${url()}?access_token=${token}` });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toEqual({
      code: "TOKEN_IN_QUERY_REFUSED",
      message: "send the token in the Authorization header, not the URL",
    });
  });
});
