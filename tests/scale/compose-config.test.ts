import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { testEnv } from "@threadline/testing";
import { afterAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const COMPOSE = join(ROOT, "docker-compose.yml");
const scratch: string[] = [];

/** docker-compose (Debian's 1.29) validates offline: no engine is needed for `config`. */
function compose(file: string, ...args: string[]) {
  return exec("docker-compose", ["-f", file, ...args], { cwd: ROOT, env: { PATH: testEnv().PATH } });
}

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe("docker-compose.yml", () => {
  it("validates offline with `docker-compose -f docker-compose.yml config -q`", async () => {
    const { stdout, stderr } = await compose(COMPOSE, "config", "-q");
    expect(stdout).toBe("");
    expect(stderr).toBe("");
  });

  it("describes nginx in front of 2 APIs, 2 gateways, 2 workers on Redis, and a cluster profile", async () => {
    const services = (await compose(COMPOSE, "config", "--services")).stdout.trim().split("\n");
    expect(services).toEqual(
      expect.arrayContaining([
        "redis",
        "api-1",
        "api-2",
        "gateway-1",
        "gateway-2",
        "worker-1",
        "worker-2",
        "nginx",
      ]),
    );
    expect(services).toEqual(
      expect.arrayContaining(["redis-node-1", "redis-node-2", "redis-node-3", "redis-cluster-init"]),
    );
    expect((await compose(COMPOSE, "config", "--profiles")).stdout.trim()).toBe("cluster");

    const resolved = (await compose(COMPOSE, "config")).stdout;
    expect(resolved).toContain("/readyz");
    expect(resolved).toMatch(/appendonly[\s\S]*yes/);
    expect(resolved).toContain("./infra/nginx/threadline.conf".replace("./", `${ROOT.replace(/\/$/, "")}/`));
    expect(resolved).toMatch(/SERVICE: gateway/);
  });

  it("cluster mode is one variable away: REDIS_CLUSTER_NODES reaches every service", async () => {
    const { stdout } = await exec("docker-compose", ["-f", COMPOSE, "config"], {
      cwd: ROOT,
      env: {
        PATH: testEnv().PATH,
        REDIS_CLUSTER_NODES: "redis-node-1:6379,redis-node-2:6379,redis-node-3:6379",
      },
    });
    const occurrences = stdout.match(
      /REDIS_CLUSTER_NODES: redis-node-1:6379,redis-node-2:6379,redis-node-3:6379/g,
    );
    expect(occurrences?.length).toBe(6);
  });

  it("fails, naming the problem, on an invalid file (so the check above can fail)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "threadline-compose-"));
    scratch.push(dir);
    const broken = join(dir, "docker-compose.yml");
    copyFileSync(COMPOSE, broken);
    writeFileSync(
      broken,
      readFileSync(broken, "utf8").replace(
        "  nginx:\n    image: nginx:1.22",
        "  nginx:\n    imag: nginx:1.22",
      ),
    );
    await expect(compose(broken, "config", "-q")).rejects.toMatchObject({
      stderr: expect.stringMatching(/nginx.*imag/s),
    });
  });
});
