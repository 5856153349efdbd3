import { generateKeyPairSync } from "node:crypto";
import { DEV_JWT_SECRET } from "@threadline/config";
import { closeRedisClient, createRedisClient, keys, type RedisClient } from "@threadline/redis";
import { getTestRedis, openSse, type TestRedis, uniqueId } from "@threadline/testing";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./test-support/test-gateway.js";

const AUD = "threadline";
const ISS = "threadline-tests";
const now = () => Math.floor(Date.now() / 1000);
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();

let redis: TestRedis;
let admin: RedisClient;
let hs: TestGateway;
let rs: TestGateway;
beforeAll(async () => {
  redis = await getTestRedis();
  admin = createRedisClient({ url: redis.url }, { name: "test-admin" });
  hs = await startTestGateway(redis.url, { JWT_AUDIENCE: AUD, JWT_ISSUER: ISS, LOG_LEVEL: "debug" });
  rs = await startTestGateway(redis.url, { JWT_PUBLIC_KEY: rsaPublicPem });
});
afterAll(async () => {
  await Promise.all([hs.close(), rs.close()]);
  await closeRedisClient(admin);
  await redis.stop();
});

const hsToken = (claims: Record<string, unknown>) => {
  const payload = Object.fromEntries(
    Object.entries({ sub: "alice", threads: ["*"], aud: AUD, iss: ISS, exp: now() + 600, ...claims }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  return jwt.sign(payload, DEV_JWT_SECRET, { algorithm: "HS256" });
};
const unsigned = (payload: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.`;

async function request(
  gw: TestGateway,
  threadId: string,
  token: string | undefined,
  headers: Record<string, string> = {},
) {
  const response = await fetch(gw.eventsUrl(threadId), {
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
  const body = response.status === 200 ? undefined : await response.json();
  if (response.status === 200) await response.body?.cancel();
  return { status: response.status, body: body as { error: { code: string; message: string } } | undefined };
}

describe("stream auth: the JWT matrix over real HTTP", () => {
  const thread = uniqueId();
  const cases: [
    name: string,
    gw: () => TestGateway,
    token: () => string | undefined,
    status: number,
    code: string,
  ][] = [
    ["no token", () => hs, () => undefined, 401, "TOKEN_MISSING"],
    [
      "alg none",
      () => hs,
      () => unsigned({ sub: "alice", threads: ["*"], aud: AUD, iss: ISS, exp: now() + 600 }),
      401,
      "TOKEN_INVALID",
    ],
    [
      "wrong HS key",
      () => hs,
      () =>
        jwt.sign({ sub: "alice", aud: AUD, iss: ISS, exp: now() + 600 }, "another-secret-of-enough-length"),
      401,
      "TOKEN_INVALID",
    ],
    [
      "wrong RS key",
      () => rs,
      () =>
        jwt.sign({ sub: "alice", threads: ["*"], exp: now() + 600 }, otherRsa.privateKey, {
          algorithm: "RS256",
        }),
      401,
      "TOKEN_INVALID",
    ],
    [
      "HS256 signed with the RS public key",
      () => rs,
      () =>
        jwt.sign({ sub: "alice", threads: ["*"], exp: now() + 600 }, rsaPublicPem, { algorithm: "HS256" }),
      401,
      "TOKEN_INVALID",
    ],
    ["expired", () => hs, () => hsToken({ exp: now() - 60 }), 401, "TOKEN_EXPIRED"],
    ["nbf in the future", () => hs, () => hsToken({ nbf: now() + 60 }), 401, "TOKEN_NOT_YET_VALID"],
    ["missing exp", () => hs, () => hsToken({ exp: undefined }), 401, "TOKEN_INVALID"],
    ["wrong aud", () => hs, () => hsToken({ aud: "someone-else" }), 401, "TOKEN_INVALID"],
    ["wrong iss", () => hs, () => hsToken({ iss: "someone-else" }), 401, "TOKEN_INVALID"],
    ["missing sub", () => hs, () => hsToken({ sub: undefined }), 401, "TOKEN_INVALID"],
    ["garbage", () => hs, () => "not-a-jwt", 401, "TOKEN_INVALID"],
    ["16 KB token", () => hs, () => hsToken({ padding: "x".repeat(16 * 1024) }), 401, "TOKEN_INVALID"],
    ["thread not granted", () => hs, () => hsToken({ threads: ["some-other-thread"] }), 403, "FORBIDDEN"],
  ];

  it.each(cases)("%s", async (_name, gw, token, status, code) => {
    const { status: got, body } = await request(gw(), thread, token());
    expect(got).toBe(status);
    expect(body?.error.code).toBe(code);
    expect(body?.error.message.length).toBeGreaterThan(5);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|stack/);
  });

  it("says why in the message and counts failures by reason", async () => {
    expect((await request(hs, thread, hsToken({ exp: undefined }))).body?.error.message).toMatch(/exp/);
    expect(
      (await request(hs, thread, hsToken({ padding: "x".repeat(16 * 1024) }))).body?.error.message,
    ).toMatch(/too large/);
    expect((await request(hs, thread, "Basic abc".slice(6), { authorization: "Basic abc" })).status).toBe(
      401,
    );
    const metrics = await (await fetch(`${hs.base}/metrics`)).text();
    expect(metrics).toMatch(/threadline_gateway_auth_failures_total\{reason="expired"\} [1-9]/);
    expect(metrics).toMatch(/threadline_gateway_auth_failures_total\{reason="forbidden"\} [1-9]/);
    expect(metrics).not.toContain(thread);
  });

  it("accepts a valid token: by the threads claim, as the thread's owner, as admin, and RS256", async () => {
    const owned = uniqueId();
    await admin.hset(keys.threadMeta(owned), "owner", "bob");
    const ok = [
      await openSse(hs.eventsUrl(thread), { headers: { authorization: `Bearer ${hsToken({})}` } }),
      await openSse(hs.eventsUrl(owned), {
        headers: { authorization: `Bearer ${hsToken({ sub: "bob", threads: undefined })}` },
      }),
      await openSse(hs.eventsUrl(owned), {
        headers: { authorization: `Bearer ${hsToken({ role: "admin", threads: undefined })}` },
      }),
      await openSse(rs.eventsUrl(thread), {
        headers: {
          authorization: `Bearer ${jwt.sign({ sub: "alice", threads: [thread], exp: now() + 600 }, rsa.privateKey, { algorithm: "RS256" })}`,
        },
      }),
    ];
    for (const c of ok) c.close();
    expect(ok.map((c) => c.status)).toEqual([200, 200, 200, 200]);
    const notOwner = await request(hs, owned, hsToken({ sub: "carol", threads: undefined }));
    expect(notOwner.status).toBe(403);
  });

  it("rejects malformed thread ids and resume positions with 400", async () => {
    const token = hsToken({});
    expect((await request(hs, "bad.id", token)).body?.error.code).toBe("INVALID_THREAD_ID");
    expect((await request(hs, "x".repeat(129), token)).body?.error.code).toBe("INVALID_THREAD_ID");
    expect((await request(hs, thread, token, { "last-event-id": "nope" })).body?.error.code).toBe(
      "INVALID_LAST_EVENT_ID",
    );
    const badAfter = await fetch(`${hs.eventsUrl(thread)}?after=abc`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(badAfter.status).toBe(400);
    expect(((await badAfter.json()) as { error: { code: string } }).error.code).toBe("INVALID_QUERY");
    const badUntil = await fetch(`${hs.eventsUrl(thread)}?until=forever`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(badUntil.status).toBe(400);
  });

  it("answers a resume id beyond 64 bits with 400, not REPLAY_FAILED retryable (which retries forever)", async () => {
    const token = hsToken({});
    const huge = "18446744073709551616-0";
    expect((await request(hs, thread, token, { "last-event-id": huge })).body?.error.code).toBe(
      "INVALID_LAST_EVENT_ID",
    );
    const after = await fetch(`${hs.eventsUrl(thread)}?after=1-${"9".repeat(20)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("INVALID_QUERY");
  });

  it("answers 414 and 431 in the contract's error shape", async () => {
    const token = hsToken({});
    const long = await fetch(hs.eventsUrl("t".repeat(300)), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(long.status).toBe(414);
    expect(await long.json()).toEqual({ error: { code: "URI_TOO_LONG", message: expect.any(String) } });
    const big = await fetch(hs.eventsUrl(thread), {
      headers: { authorization: `Bearer ${token}`, "x-padding": "p".repeat(70_000) },
    });
    expect(big.status).toBe(431);
    expect(await big.json()).toEqual({ error: { code: "HEADERS_TOO_LARGE", message: expect.any(String) } });
  });

  it("accepts ?access_token= for EventSource and never logs it", async () => {
    const good = hsToken({ sub: "query-user" });
    const bad = hsToken({ exp: now() - 60 });
    const stream = await openSse(hs.eventsUrl(thread, { access_token: good }));
    expect(stream.status).toBe(200);
    stream.close();
    const longBad = hsToken({ padding: "y".repeat(16 * 1024) });
    for (const token of [bad, longBad]) {
      const refused = await fetch(hs.eventsUrl(thread, { access_token: token }));
      expect(refused.status).toBe(401);
      await refused.text();
    }
    await new Promise((r) => setTimeout(r, 50));
    const all = hs.rawLogs.join("\n");
    expect(all).toContain("access_token=[redacted]");
    for (const token of [good, bad, longBad]) {
      expect(all).not.toContain(token);
      expect(all).not.toContain(token.split(".")[2]!);
    }
  });
});
