import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { canRead } from "./claims.js";
import { extractToken } from "./extract-token.js";
import { signDevToken } from "./signer.js";
import { createVerifier } from "./verifier.js";

const secret = "test-secret-long-enough-1234";
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsaPublicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
const ecPublicPem = ec.publicKey.export({ type: "spki", format: "pem" }).toString();
const nowS = () => Math.floor(Date.now() / 1000);

const hs = createVerifier({ secret, clockToleranceSeconds: 5, audience: "tl", issuer: "iss" });
const rs = createVerifier({ publicKey: rsaPublicPem, clockToleranceSeconds: 5 });
const es = createVerifier({ publicKey: ecPublicPem, clockToleranceSeconds: 5 });
const good = { sub: "alice", aud: "tl", iss: "iss" };

function b64(value: unknown) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("createVerifier", () => {
  it("accepts a valid HS256 token with its claims", () => {
    const token = jwt.sign({ ...good, threads: ["t1"] }, secret, { algorithm: "HS256", expiresIn: 60 });
    const result = hs.verify(token);
    expect(result.ok && result.claims).toMatchObject({ sub: "alice", threads: ["t1"] });
  });

  it("accepts RS256 and ES256 tokens with a matching public key", () => {
    expect(rs.verify(jwt.sign({ sub: "a" }, rsa.privateKey, { algorithm: "RS256", expiresIn: 60 })).ok).toBe(
      true,
    );
    expect(es.verify(jwt.sign({ sub: "a" }, ec.privateKey, { algorithm: "ES256", expiresIn: 60 })).ok).toBe(
      true,
    );
  });

  const cases: [string, () => string, string][] = [
    [
      "alg none",
      () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...good, exp: nowS() + 60 })}.`,
      "TOKEN_INVALID",
    ],
    [
      "a wrong key",
      () => jwt.sign(good, "another-secret-entirely-xx", { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
    [
      "an expired token",
      () => jwt.sign({ ...good, exp: nowS() - 60 }, secret, { algorithm: "HS256" }),
      "TOKEN_EXPIRED",
    ],
    [
      "nbf in the future",
      () => jwt.sign({ ...good, nbf: nowS() + 120 }, secret, { algorithm: "HS256", expiresIn: 600 }),
      "TOKEN_NOT_YET_VALID",
    ],
    ["no exp", () => jwt.sign(good, secret, { algorithm: "HS256" }), "TOKEN_INVALID"],
    [
      "a wrong audience",
      () => jwt.sign({ ...good, aud: "other" }, secret, { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
    [
      "a wrong issuer",
      () => jwt.sign({ ...good, iss: "evil" }, secret, { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
    [
      "no sub",
      () => jwt.sign({ aud: "tl", iss: "iss" }, secret, { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
    ["garbage", () => "not.a.jwt", "TOKEN_INVALID"],
    [
      "a 16 KB token",
      () => jwt.sign({ ...good, pad: "x".repeat(16 * 1024) }, secret, { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
    [
      "bad threads",
      () => jwt.sign({ ...good, threads: ["a b"] }, secret, { algorithm: "HS256", expiresIn: 60 }),
      "TOKEN_INVALID",
    ],
  ];
  it.each(cases)("refuses %s", (_, token, code) => {
    const result = hs.verify(token());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.code).toBe(code);
  });

  it("refuses HS256 signed with the RSA public key (algorithm confusion)", () => {
    const forged = jwt.sign({ sub: "a", exp: nowS() + 60 }, rsaPublicPem, {
      algorithm: "HS256",
    } as jwt.SignOptions);
    expect(rs.verify(forged)).toMatchObject({ ok: false, code: "TOKEN_INVALID" });
  });

  it("refuses an RS256 token where ES256 is pinned", () => {
    expect(es.verify(jwt.sign({ sub: "a" }, rsa.privateKey, { algorithm: "RS256", expiresIn: 60 })).ok).toBe(
      false,
    );
  });

  it("refuses a token whose header has `crit` (RFC 7515 §4.1.11: extensions it does not understand)", () => {
    const options = { algorithm: "HS256" as const, expiresIn: 60 };
    const crit = jwt.sign(good, secret, {
      ...options,
      header: { alg: "HS256", crit: ["exp"] } as jwt.JwtHeader,
    });
    expect(hs.verify(crit)).toMatchObject({ ok: false, reason: "critical", code: "TOKEN_INVALID" });
    const unknown = jwt.sign(good, secret, {
      ...options,
      header: { alg: "HS256", crit: ["urn:example:must-know"], "urn:example:must-know": 1 } as jwt.JwtHeader,
    });
    expect(hs.verify(unknown)).toMatchObject({ ok: false, reason: "critical" });
    expect(hs.verify(jwt.sign(good, secret, options)).ok).toBe(true);
  });

  it("says a token is missing", () => {
    expect(hs.verify(undefined)).toMatchObject({ ok: false, code: "TOKEN_MISSING" });
  });

  it("refuses to be built with both or neither key", () => {
    expect(() => createVerifier({ secret, publicKey: rsaPublicPem, clockToleranceSeconds: 0 })).toThrow(
      /not both/,
    );
    expect(() => createVerifier({ clockToleranceSeconds: 0 })).toThrow(/JWT_SECRET/);
  });

  it("signs dev tokens the verifier accepts", () => {
    const token = signDevToken(secret, {
      sub: "dev",
      threads: ["*"],
      role: "admin",
      ttlSeconds: 60,
      audience: "tl",
      issuer: "iss",
    });
    const result = hs.verify(token);
    expect(result.ok && result.claims).toMatchObject({ sub: "dev", threads: ["*"], role: "admin" });
  });
});

describe("canRead", () => {
  const claims = (extra = {}) => ({ sub: "alice", exp: 0, ...extra });
  it("grants listed threads, wildcards, owners and admins, and nothing else", () => {
    expect(canRead(claims({ threads: ["t1"] }), "t1", null)).toBe(true);
    expect(canRead(claims({ threads: ["*"] }), "t2", "bob")).toBe(true);
    expect(canRead(claims(), "t3", "alice")).toBe(true);
    expect(canRead(claims({ role: "admin" }), "t4", "bob")).toBe(true);
    expect(canRead(claims({ threads: ["t1"] }), "t2", "bob")).toBe(false);
    expect(canRead(claims(), "t5", null)).toBe(false);
  });
});

describe("extractToken", () => {
  it("reads a bearer header first, then the query", () => {
    expect(extractToken({ authorization: "Bearer abc" })).toEqual({ token: "abc", from: "header" });
    expect(extractToken({ authorization: "bearer  abc " })).toEqual({ token: "abc", from: "header" });
    expect(extractToken({ queryToken: "q" })).toEqual({ token: "q", from: "query" });
    expect(extractToken({ authorization: "Basic xyz", queryToken: "q" })).toEqual({
      token: undefined,
      from: "malformed",
    });
    expect(extractToken({})).toEqual({ token: undefined, from: "none" });
  });
});
