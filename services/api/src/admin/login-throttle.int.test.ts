import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startApiHarness } from "../test-support/api-harness.js";

// Addresses unique to this run (198.18.0.0/15 is for benchmarks, never a real client): a Redis shared
// between runs (REDIS_URL) must not carry one run's refusals into the next.
const address = () => `198.18.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const WRONG = { token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.wrong-secret" };

describe("admin login throttling (no trusted proxy, the default)", () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApiHarness({ ADMIN_LOGIN_MAX_FAILURES: "3", ADMIN_LOGIN_WINDOW_SECONDS: "60" });
  });
  afterAll(async () => {
    await h?.close();
  });
  const login = (remoteAddress: string, payload: object, headers: Record<string, string> = {}) =>
    h.app.inject({ method: "POST", url: "/admin/login", remoteAddress, payload, headers });
  const admin = () => ({ token: h.bearer("ops", { role: "admin" }).slice(7) });

  it("answers 429 RATE_LIMITED with Retry-After once an address has used its refusals, even with a good token; other addresses still log in", async () => {
    const attacker = address();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) statuses.push((await login(attacker, WRONG)).statusCode);
    expect(statuses).toEqual([401, 401, 401, ...Array(17).fill(429)]);

    const refused = await login(attacker, admin());
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: {
        code: "RATE_LIMITED",
        message: expect.stringMatching(/^too many refused admin logins from this address; retry in \d+ s$/),
        details: { retryAfterSeconds: expect.any(Number) },
      },
    });
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers["set-cookie"]).toBeUndefined();

    const other = await login(address(), admin());
    expect(other.statusCode).toBe(200);
    expect(String(other.headers["set-cookie"])).toMatch(/^threadline_admin=/);
  });

  it("does not count successful logins or a valid non-admin token", async () => {
    const ops = address();
    for (let i = 0; i < 5; i += 1) expect((await login(ops, admin())).statusCode).toBe(200);
    const user = { token: h.bearer("alice").slice(7) };
    for (let i = 0; i < 5; i += 1) expect((await login(ops, user)).statusCode).toBe(403);
    expect((await login(ops, WRONG)).statusCode).toBe(401);
    expect((await login(ops, admin())).statusCode).toBe(200);
  });

  it("a forged X-Forwarded-For cannot spread the attempts over made-up addresses", async () => {
    const attacker = address();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1)
      statuses.push((await login(attacker, WRONG, { "x-forwarded-for": address() })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
  });

  it("a forged X-Forwarded-Proto cannot make the cookie Secure (nor an X-Forwarded-For a different client)", async () => {
    const forged = await login(address(), admin(), { "x-forwarded-proto": "https" });
    expect(forged.statusCode).toBe(200);
    expect(String(forged.headers["set-cookie"])).not.toContain("Secure");
  });
});

describe("admin login behind a trusted proxy (TRUST_PROXY)", () => {
  const proxy = address();
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApiHarness({
      TRUST_PROXY: `${proxy},127.0.0.1`,
      ADMIN_LOGIN_MAX_FAILURES: "2",
      ADMIN_LOGIN_WINDOW_SECONDS: "60",
    });
  });
  afterAll(async () => {
    await h?.close();
  });
  const viaProxy = (client: string, payload: object, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: "POST",
      url: "/admin/login",
      remoteAddress: proxy,
      payload,
      headers: { "x-forwarded-for": client, ...headers },
    });
  const admin = () => ({ token: h.bearer("ops", { role: "admin" }).slice(7) });

  it("throttles the client the proxy names, not the proxy: other clients behind it still log in", async () => {
    const attacker = address();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await viaProxy(attacker, WRONG)).statusCode);
    expect(statuses).toEqual([401, 401, 429, 429]);
    expect((await viaProxy(address(), admin())).statusCode).toBe(200);
  });

  it("believes the proxy's X-Forwarded-Proto: https logins get a Secure cookie", async () => {
    const secure = await viaProxy(address(), admin(), { "x-forwarded-proto": "https" });
    expect(secure.statusCode).toBe(200);
    expect(String(secure.headers["set-cookie"])).toMatch(/; Secure$/);
  });

  it("still ignores the same headers from an address that is not a listed proxy", async () => {
    const stranger = address();
    const forged = await h.app.inject({
      method: "POST",
      url: "/admin/login",
      remoteAddress: stranger,
      payload: admin(),
      headers: { "x-forwarded-proto": "https", "x-forwarded-for": address() },
    });
    expect(forged.statusCode).toBe(200);
    expect(String(forged.headers["set-cookie"])).not.toContain("Secure");
    for (let i = 0; i < 2; i += 1)
      await h.app.inject({
        method: "POST",
        url: "/admin/login",
        remoteAddress: stranger,
        payload: WRONG,
        headers: { "x-forwarded-for": address() },
      });
    const blocked = await h.app.inject({
      method: "POST",
      url: "/admin/login",
      remoteAddress: stranger,
      payload: admin(),
      headers: { "x-forwarded-for": address() },
    });
    expect(blocked.statusCode).toBe(429);
  });
});
