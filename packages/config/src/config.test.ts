import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./api.js";
import { DEV_JWT_SECRET } from "./common.js";
import { loadGatewayConfig } from "./gateway.js";
import { ConfigError } from "./load-config.js";
import { loadWorkerConfig } from "./worker.js";

function errorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("has safe local defaults for every service", () => {
    const gateway = loadGatewayConfig({});
    expect(gateway).toMatchObject({
      port: 3001,
      host: "127.0.0.1",
      heartbeatIntervalMs: 15_000,
      maxBufferBytes: 1024 * 1024,
      maxConnections: 10_000,
      maxStreamsPerSubject: 100,
      maxThreadsPerConnection: 100,
      subscriberMode: "dedicated",
      redis: {
        url: "redis://127.0.0.1:6379",
        commandRetries: 20,
        logMaxLen: 10_000,
        logTtlSeconds: 86_400,
        queuePrefix: "{tl}",
      },
      jwt: { secret: DEV_JWT_SECRET, clockToleranceSeconds: 5 },
    });
    expect(loadApiConfig({}).port).toBe(3000);
    expect(loadWorkerConfig({}).concurrency).toBeGreaterThan(0);
  });

  it("reads every variable it documents", () => {
    const config = loadGatewayConfig({
      PORT: "4001",
      HOST: "0.0.0.0",
      REDIS_URL: "redis://example:6380",
      REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001",
      REDIS_COMMAND_RETRIES: "5",
      SUBSCRIBER_MODE: "shared",
      CORS_ORIGINS: "http://a.test, http://b.test",
      JWT_SECRET: "s".repeat(32),
      JWT_AUDIENCE: "threadline",
    });
    expect(config).toMatchObject({
      port: 4001,
      host: "0.0.0.0",
      subscriberMode: "shared",
      corsOrigins: ["http://a.test", "http://b.test"],
      redis: {
        clusterNodes: [
          { host: "10.0.0.1", port: 7000 },
          { host: "10.0.0.2", port: 7001 },
        ],
        commandRetries: 5,
      },
      jwt: { secret: "s".repeat(32), audience: "threadline" },
    });
  });

  it("reports one clear line per bad variable", () => {
    expect(
      errorLines(() =>
        loadGatewayConfig({
          PORT: "abc",
          HEARTBEAT_INTERVAL_MS: "-5",
          SUBSCRIBER_MODE: "both",
          REDIS_URL: "http://x",
          REDIS_COMMAND_RETRIES: "0",
        }),
      ),
    ).toEqual([
      'REDIS_URL: expected a redis: or rediss:// URL, got "http://x"',
      'REDIS_COMMAND_RETRIES: expected an integer 1-1000, got "0"',
      'PORT: expected an integer 1-65535, got "abc"',
      'HEARTBEAT_INTERVAL_MS: expected an integer 100-300000, got "-5"',
      'SUBSCRIBER_MODE: expected one of dedicated, shared, got "both"',
    ]);
  });

  it("trusts no proxy unless TRUST_PROXY lists addresses, CIDRs or named ranges, and refuses anything else", () => {
    expect(loadApiConfig({})).toMatchObject({
      trustProxy: [],
      adminLoginMaxFailures: 10,
      adminLoginWindowMs: 300_000,
    });
    expect(
      loadApiConfig({
        TRUST_PROXY: " 10.0.0.7, 172.16.0.0/12,fd00::/8 ,::1,loopback,uniquelocal",
        ADMIN_LOGIN_MAX_FAILURES: "3",
        ADMIN_LOGIN_WINDOW_SECONDS: "60",
      }),
    ).toMatchObject({
      trustProxy: ["10.0.0.7", "172.16.0.0/12", "fd00::/8", "::1", "loopback", "uniquelocal"],
      adminLoginMaxFailures: 3,
      adminLoginWindowMs: 60_000,
    });
    for (const bad of [
      "true",
      "*",
      "10.0.0.0/33",
      "10.0.0.300",
      "nginx",
      "::1/129",
      "10.0.0.0/8/1",
      "10.0.0.0/",
    ]) {
      expect(
        errorLines(() => loadApiConfig({ TRUST_PROXY: `127.0.0.1,${bad}` })),
        bad,
      ).toEqual([
        `TRUST_PROXY: expected IP addresses, CIDRs (10.0.0.0/8) or loopback/linklocal/uniquelocal, comma-separated, got ${JSON.stringify(bad)}`,
      ]);
    }
  });

  it("refuses the dev JWT secret in production", () => {
    expect(errorLines(() => loadApiConfig({ NODE_ENV: "production" }))).toEqual([
      "JWT_SECRET: the development secret is refused when NODE_ENV=production; set a real secret",
    ]);
    expect(
      loadApiConfig({ NODE_ENV: "production", JWT_SECRET: "a-real-secret-of-some-length" }).jwt.secret,
    ).toBe("a-real-secret-of-some-length");
  });

  it("refuses a short secret, both key kinds, and a cluster queue prefix without a hash tag", () => {
    expect(errorLines(() => loadApiConfig({ JWT_SECRET: "short" }))).toEqual([
      "JWT_SECRET: expected at least 16 characters, got 5",
    ]);
    expect(errorLines(() => loadApiConfig({ JWT_SECRET: "s".repeat(20), JWT_PUBLIC_KEY: "pem" }))[0]).toMatch(
      /not both/,
    );
    expect(
      errorLines(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "127.0.0.1:7000", QUEUE_PREFIX: "bull" }))[0],
    ).toMatch(/QUEUE_PREFIX: expected a hash tag/);
  });

  it("uses the public key alone when one is given", () => {
    const config = loadGatewayConfig({
      JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----",
    });
    expect(config.jwt.secret).toBeUndefined();
    expect(config.jwt.publicKey).toContain("\nabc\n");
  });

  it("rejects bad cluster node lists and booleans", () => {
    expect(
      errorLines(() => loadApiConfig({ REDIS_CLUSTER_NODES: "localhost", ADMIN_QUEUE_ACTIONS: "maybe" })),
    ).toEqual([
      'REDIS_CLUSTER_NODES: expected host:port[,host:port…], got "localhost"',
      'ADMIN_QUEUE_ACTIONS: expected true/false or 1/0, got "maybe"',
    ]);
  });
});
