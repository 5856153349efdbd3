import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisServer } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { staleBuilds, workspaceClosure } from "../../scripts/start/build-if-stale.js";
import { formatLogLine, palette } from "../../scripts/start/log-lines.js";
import { pingRedis } from "../../scripts/start/redis-ping.js";

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
