import { openSse, uniqueId } from "@threadline/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { hs256, nowSeconds } from "./support/forge-jwt.js";
import { SECRETS, type SecurityStack } from "./support/security-stack.js";

/** Anything shaped like a JWT (`eyJ….eyJ….`): no log line may carry one. */
const JWT_SHAPE = /eyJ[\w-]{4,}\.eyJ[\w-]{4,}\./;

/**
 * Runs last: every service ran at LOG_LEVEL=debug through the matrix, the fuzzing and the rate
 * limit; now tokens go in headers and query strings (valid, expired, forged) and a run completes.
 * None of the secrets, and nothing JWT-shaped, may appear in any service's stdout/stderr.
 */
export function describeSecretsInLogs(getStack: () => SecurityStack): void {
  describe("secrets never logged (captured stdout/stderr of every service)", () => {
    let s: SecurityStack;
    beforeAll(() => {
      s = getStack();
    });

    it("no token (header or query), JWT_SECRET or provider key appears in any log", async () => {
      const threadId = uniqueId("secret");
      const valid = s.token({ sub: "logger", threads: ["*"] });
      const expired = s.token({ sub: "logger", exp: nowSeconds() - 600 });
      const forged = hs256({ sub: "logger", exp: nowSeconds() + 600 }, "not-the-secret-at-all");
      const tokens = [valid, expired, forged];
      for (const token of tokens) {
        const header = await openSse(`${s.gateway.url}/v1/threads/${threadId}/events`, {
          headers: { authorization: `Bearer ${token}` },
        });
        header.close();
        const query = await openSse(`${s.gateway.url}/v1/threads/${threadId}/events?access_token=${token}`);
        query.close();
        await fetch(`${s.api.url}/v1/threads/${threadId}/events?access_token=${token}`);
        await fetch(`${s.api.url}/v1/threads/${threadId}/events`, {
          headers: { authorization: `Bearer ${token}` },
        });
      }
      // A whole run, so the worker (which holds the provider keys) does its work too.
      const created = await fetch(`${s.api.url}/v1/threads/${threadId}/runs`, {
        method: "POST",
        headers: { authorization: `Bearer ${valid}`, "content-type": "application/json" },
        body: JSON.stringify({
          agent: "demo",
          input: { prompt: "log me", tokensPerSecond: 0, maxTokens: 5 },
        }),
      });
      expect(created.status).toBe(202);
      const done = await openSse(`${s.gateway.url}/v1/threads/${threadId}/events?after=0&until=done`, {
        headers: { authorization: `Bearer ${valid}` },
      });
      await done.ended;
      expect(done.events.at(-1)?.event).toBe("done");

      const output = s.output();
      expect(output.length, "the services did log (the check is not vacuous)").toBeGreaterThan(1_000);
      for (const [name, secret] of Object.entries(SECRETS)) {
        expect(output.includes(secret), `${name} leaked`).toBe(false);
      }
      for (const token of tokens) {
        expect(output.includes(token), "a token leaked").toBe(false);
        expect(output.includes(token.split(".")[2]!), "a token signature leaked").toBe(false);
      }
      expect(JWT_SHAPE.exec(output)?.[0], "something JWT-shaped was logged").toBeUndefined();
    });
  });
}
