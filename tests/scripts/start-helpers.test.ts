import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, freePort, startRedisServer } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { staleBuilds, workspaceClosure } from "../../scripts/start/build-if-stale.js";
import { formatLogLine, palette } from "../../scripts/start/log-lines.js";
import { pingRedis } from "../../scripts/start/redis-ping.js";
import { type ServiceProcess, startService, waitReady } from "../../scripts/start/service-process.js";

const repos: string[] = [];
afterEach(() => {
  for (const dir of repos.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fakeRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), "threadline-start-helpers-"));
  repos.push(repo);
  const pkg = (
    dir: string,
    name: string,
    deps: Record<string, string> = {},
    devDeps: Record<string, string> = {},
  ) => {
    mkdirSync(join(repo, dir, "src"), { recursive: true });
    writeFileSync(
      join(repo, dir, "package.json"),
      JSON.stringify({ name, dependencies: deps, devDependencies: devDeps }),
    );
    writeFileSync(join(repo, dir, "src", "index.ts"), "export {};\n");
  };
  pkg("packages/protocol", "@t/protocol");
  pkg("packages/redis", "@t/redis", { "@t/protocol": "workspace:*", ioredis: "6.0.0" });
  pkg("packages/testing", "@t/testing");
  pkg("packages/unrelated", "@t/unrelated");
  pkg("services/api", "@t/api", { "@t/redis": "workspace:*" }, { "@t/testing": "workspace:*" });
  return repo;
}

function touch(path: string, secondsAgo: number) {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

describe("pnpm start: build-if-stale", () => {
  it("follows workspace dependencies and devDependencies, nothing else", () => {
    const repo = fakeRepo();
    expect(workspaceClosure(repo, ["services/api"]).sort()).toEqual(
      ["packages/protocol", "packages/redis", "packages/testing", "services/api"].sort(),
    );
  });

  it("finds a missing dist, and a source newer than its dist; test files do not count", () => {
    const repo = fakeRepo();
    const dirs = workspaceClosure(repo, ["services/api"]);
    expect(staleBuilds(repo, dirs).sort()).toEqual([...dirs].sort());

    for (const dir of dirs) {
      touch(join(repo, dir, "package.json"), 100);
      touch(join(repo, dir, "src", "index.ts"), 100);
      mkdirSync(join(repo, dir, "dist"));
      writeFileSync(join(repo, dir, "dist", "index.js"), "");
    }
    expect(staleBuilds(repo, dirs)).toEqual([]);

    writeFileSync(join(repo, "packages/redis/src/new.test.ts"), "");
    expect(staleBuilds(repo, dirs)).toEqual([]);
    touch(join(repo, "packages/redis/dist/index.js"), 50);
    writeFileSync(join(repo, "packages/redis/src/keys.ts"), "export {};\n");
    expect(staleBuilds(repo, dirs)).toEqual(["packages/redis"]);
  });
});

describe("pnpm start: log lines", () => {
  it("turns pino JSON into one readable line and passes anything else through", () => {
    const plain = palette(false);
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 5, 7),
      pid: 1,
      hostname: "h",
      service: "api",
      msg: "run queued",
      runId: "r1",
      n: 2,
    });
    expect(formatLogLine(line, plain)).toBe("12:00:05.007 info run queued runId=r1 n=2");
    expect(formatLogLine("api: invalid configuration", plain)).toBe("api: invalid configuration");
    expect(formatLogLine("{not json", plain)).toBe("{not json");
    expect(formatLogLine(JSON.stringify({ level: 50, msg: "boom" }), palette(true))).toContain(
      "\u001b[31merror\u001b[0m",
    );
  });
});

describe("pnpm start: redis ping", () => {
  it("tells a PONG, a Redis that refuses us, and nothing listening apart (real redis-server)", async () => {
    const server = await startRedisServer();
    try {
      expect(await pingRedis(server.url)).toEqual({ ok: true });
      const admin = new Redis(server.url);
      await admin.config("SET", "requirepass", "s3cret-pass");
      admin.disconnect();
      const refused = await pingRedis(server.url);
      expect(refused.ok).toBe(false);
      expect(!refused.ok && refused.reason).toMatch(/^Redis answered NOAUTH/);
      expect(await pingRedis(`redis://:s3cret-pass@127.0.0.1:${server.port}`)).toEqual({ ok: true });
    } finally {
      await server.dispose();
    }
    const closed = await pingRedis(server.url);
    expect(closed.ok).toBe(false);
    expect(!closed.ok && closed.reason).toContain("ECONNREFUSED");
  });
});

describe("pnpm start: waiting for a service", () => {
  const services: ServiceProcess[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop(1_000)));
  });

  /** A real `node -e` child: `script` runs with PORT set. */
  async function service(script: string) {
    const port = await freePort();
    const spec = {
      name: "svc",
      args: ["-e", script],
      cwd: process.cwd(),
      env: { ...childEnv(), PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    };
    let printed: (line: string) => void = () => {};
    const listening = new Promise<string>((resolve) => {
      printed = resolve;
    });
    const started = startService(spec, printed);
    services.push(started);
    return { started, listening };
  }
  const listen = (status: number) =>
    `require("node:http").createServer((q, s) => { s.statusCode = ${status}; s.end(); }).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"))`;

  it("resolves once the readiness URL answers 200", async () => {
    const { started } = await service(listen(200));
    await expect(waitReady(started, 30_000)).resolves.toBeUndefined();
  });

  it("rejects with the exit when the process ends before it is ready", async () => {
    const { started } = await service("process.exit(3)");
    await expect(waitReady(started, 30_000)).rejects.toThrow("svc exited (code 3) before it was ready");
  });

  it("rejects with the last answer when the service is not ready in time", async () => {
    const { started, listening } = await service(listen(503));
    expect(await listening).toBe("listening");
    await expect(waitReady(started, 1_000)).rejects.toThrow(
      /^svc was not ready: http:\/\/127\.0\.0\.1:\d+\/readyz did not answer 200 within 1000 ms \(status 503\)/,
    );
  });
});
