import { openSse, uniqueId } from "@threadline/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { algNone, hs256, nowSeconds, rs256, rsaKeyPair } from "./support/forge-jwt.js";
import { AUDIENCE, ISSUER, SECRETS, type SecurityStack } from "./support/security-stack.js";

interface Attack {
  name: string;
  token: (s: SecurityStack) => string | undefined;
  status: number;
  code: string;
}

const base = () => ({ sub: "alice", aud: AUDIENCE, iss: ISSUER, exp: nowSeconds() + 3600 });
const otherKey = rsaKeyPair();

/** Attacks on the HS256 services (gateway-hs and the API): every one refused with its code. */
const HS_ATTACKS: Attack[] = [
  { name: "no token", token: () => undefined, status: 401, code: "TOKEN_MISSING" },
  { name: "alg none", token: () => algNone(base()), status: 401, code: "TOKEN_INVALID" },
  {
    name: "wrong key",
    token: () => hs256(base(), "another-secret-of-enough-length"),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "RS256 token on an HS256 service",
    token: (s) => rs256(base(), s.rsa.privateKey),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "expired",
    token: () => hs256({ ...base(), exp: nowSeconds() - 60 }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_EXPIRED",
  },
  {
    name: "nbf in the future",
    token: () => hs256({ ...base(), nbf: nowSeconds() + 600 }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_NOT_YET_VALID",
  },
  {
    name: "no exp",
    token: () => hs256({ sub: "alice", aud: AUDIENCE, iss: ISSUER }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "wrong aud",
    token: () => hs256({ ...base(), aud: "someone-else" }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "wrong iss",
    token: () => hs256({ ...base(), iss: "https://evil.test" }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "missing sub",
    token: () => hs256({ aud: AUDIENCE, iss: ISSUER, exp: nowSeconds() + 3600 }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
  { name: "garbage", token: () => "garbage", status: 401, code: "TOKEN_INVALID" },
  { name: "three garbage parts", token: () => "a.b.c", status: 401, code: "TOKEN_INVALID" },
  {
    name: "oversized (9 KiB)",
    token: () => hs256({ ...base(), pad: "p".repeat(9 * 1024) }, SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "other thread (not owner, not listed)",
    token: () => hs256({ ...base(), sub: "mallory", threads: ["elsewhere"] }, SECRETS.jwtSecret),
    status: 403,
    code: "FORBIDDEN",
  },
];

/** Attacks on the RS256 gateway (JWT_PUBLIC_KEY). */
const RS_ATTACKS: Attack[] = [
  {
    name: "HS256 signed with the public key as the secret (alg confusion)",
    token: (s) => hs256(base(), s.rsa.publicKey),
    status: 401,
    code: "TOKEN_INVALID",
  },
  { name: "alg none", token: () => algNone(base()), status: 401, code: "TOKEN_INVALID" },
  {
    name: "RS256 from another key",
    token: () => rs256(base(), otherKey.privateKey),
    status: 401,
    code: "TOKEN_INVALID",
  },
  {
    name: "HS256 with the HS services' secret",
    token: () => hs256(base(), SECRETS.jwtSecret),
    status: 401,
    code: "TOKEN_INVALID",
  },
];

const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

async function sse(url: string, headers: Record<string, string>) {
  const conn = await openSse(url, { headers });
  conn.close();
  return { status: conn.status, body: conn.status === 200 ? undefined : JSON.parse(conn.body) };
}

async function api(url: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(url, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

/** The JWT attack matrix, over real HTTP against the real gateway (HS256 and RS256) and API. */
export function describeJwtMatrix(getStack: () => SecurityStack): void {
  describe("JWT matrix (real gateway and API processes over HTTP)", () => {
    let s: SecurityStack;
    const threadId = uniqueId("owned");
    let runId = "";
    beforeAll(async () => {
      s = getStack();
      const created = await api(`${s.api.url}/v1/threads/${threadId}/runs`, bearer(s.token()), {
        agent: "demo",
        input: { prompt: "owned by alice", tokensPerSecond: 0, maxTokens: 5 },
      });
      expect(created.status).toBe(202);
      runId = (created.body as { runId: string }).runId;
    });

    it("accepts the genuine tokens (so every refusal below is the token's fault)", async () => {
      expect((await sse(`${s.gateway.url}/v1/threads/${threadId}/events`, bearer(s.token()))).status).toBe(
        200,
      );
      expect(
        (
          await sse(
            `${s.rsGateway.url}/v1/threads/${threadId}/events`,
            bearer(rs256(base(), s.rsa.privateKey)),
          )
        ).status,
      ).toBe(200);
      expect((await api(`${s.api.url}/v1/threads/${threadId}/runs/${runId}`, bearer(s.token()))).status).toBe(
        200,
      );
      // EventSource cannot send headers: the gateway takes ?access_token=
      expect(
        (await sse(`${s.gateway.url}/v1/threads/${threadId}/events?access_token=${s.token()}`, {})).status,
      ).toBe(200);
    });

    for (const attack of HS_ATTACKS) {
      it(`HS256 services refuse: ${attack.name} → ${attack.status} ${attack.code}`, async () => {
        const headers = bearer(attack.token(s));
        const results = [
          await sse(`${s.gateway.url}/v1/threads/${threadId}/events`, headers),
          await api(`${s.api.url}/v1/threads/${threadId}/runs/${runId}`, headers),
          await api(`${s.api.url}/v1/threads/${threadId}/events?after=0`, headers),
          await api(`${s.api.url}/v1/threads/${threadId}/runs`, headers, {
            agent: "demo",
            input: { prompt: "x" },
          }),
        ];
        for (const r of results) {
          expect({ status: r.status, code: r.body?.error?.code }).toEqual({
            status: attack.status,
            code: attack.code,
          });
        }
      });
    }

    for (const attack of RS_ATTACKS) {
      it(`RS256 gateway refuses: ${attack.name} → ${attack.status} ${attack.code}`, async () => {
        const r = await sse(`${s.rsGateway.url}/v1/threads/${threadId}/events`, bearer(attack.token(s)));
        expect({ status: r.status, code: r.body?.error?.code }).toEqual({
          status: attack.status,
          code: attack.code,
        });
      });
    }

    it("the API refuses a token in the query string, even a valid one", async () => {
      for (const path of [
        `/v1/threads/${threadId}/runs/${runId}`,
        `/v1/threads/${threadId}/events?after=0`,
      ]) {
        const sep = path.includes("?") ? "&" : "?";
        const r = await api(`${s.api.url}${path}${sep}access_token=${s.token()}`, {});
        expect({ status: r.status, code: r.body.error?.code }).toEqual({
          status: 401,
          code: "TOKEN_IN_QUERY_REFUSED",
        });
      }
    });
  });
}
