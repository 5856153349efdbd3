import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";

import { openSse, uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import { useAdminRedis } from "./test-support/admin-redis.js";
import { startGatewayProcess } from "./test-support/gateway-process.js";

const t = useAdminRedis();

/** Connections this gateway process holds, by CLIENT LIST name. */
async function gatewayConnections(): Promise<number> {
  const list = String(await t.client.call("CLIENT", "LIST"));
  return list.split("\n").filter((l) => / name=gateway/.test(l)).length;
}

describe.each(["dedicated", "shared"] as const)("SIGTERM (%s subscribers, real child process)", (mode) => {
  it("ends 100 open streams, releases every Redis connection and exits within 10 s", {
    timeout: 40_000,
  }, async () => {
    const gw = await startGatewayProcess({
      REDIS_URL: t.redis.url,
      SUBSCRIBER_MODE: mode,
      MAX_STREAMS_PER_SUBJECT: "1000",
    });
    const token = signDevToken(DEV_JWT_SECRET, { sub: "many", threads: ["*"] });
    const threads = Array.from({ length: 5 }, () => uniqueId());
    const streams = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const url = `${gw.base}/v1/threads/${threads[i % 5]}/events`;
        // Some use the query token (EventSource style): it must never reach the log.
        return i % 10 === 0
          ? openSse(`${url}?access_token=${token}`)
          : openSse(url, { headers: { authorization: `Bearer ${token}` } });
      }),
    );
    expect(streams.every((s) => s.status === 200)).toBe(true);
    expect(await gatewayConnections()).toBe(mode === "dedicated" ? 101 : 2);

    const started = Date.now();
    gw.kill("SIGTERM");
    const code = await gw.exited;
    const elapsed = Date.now() - started;
    await Promise.all(streams.map((s) => s.ended));

    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    expect(streams.every((s) => s.closed)).toBe(true);
    const deadline = Date.now() + 3_000;
    while ((await gatewayConnections()) > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await gatewayConnections()).toBe(0);

    const log = gw.stdout.join("\n");
    expect(log).toContain("shut down cleanly");
    expect(log).toContain("access_token=[redacted]");
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split(".")[2]!);
  });
});
