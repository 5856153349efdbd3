/**
 * `pnpm start`: the whole stack on one machine. Builds what is stale, uses the Redis at REDIS_URL
 * (or starts a local redis-server with AOF in .threadline/redis), starts api, gateway and worker as
 * child processes with prefixed logs, waits until each is ready, prints the URLs, a dev token and a
 * curl that streams a demo run. Ctrl-C (or SIGTERM) stops the services, then Redis.
 *
 * Env: REDIS_URL, HOST, API_PORT (3000), GATEWAY_PORT (3001), WORKER_PORT (3002), JWT_SECRET, CORS_ORIGINS
 * (the gateway's; default: the API's origin, where the web console is served),
 * REDIS_SERVER_BIN, LOCAL_REDIS_PORT (6379 when free), THREADLINE_DATA_DIR (.threadline), DATABASE_URL
 * (the archive's PostgreSQL; when unset or not answering, an embedded PGlite with its data in
 * .threadline/pglite, on EMBEDDED_PG_PORT or 5433 when free), ARCHIVE=off (no archive); every other
 * variable is passed to the services.
 * Flags: --no-build (use dist as it is), --source (run the services from source with tsx: no build).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDatabase } from "../packages/archive/src/index.js";
import { signDevToken } from "../packages/auth/src/index.js";
import { DEV_JWT_SECRET } from "../packages/config/src/index.js";
import { banner } from "./start/banner.js";
import { staleBuilds, workspaceClosure } from "./start/build-if-stale.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./start/embedded-postgres.js";
import { pickPort } from "./start/free-port.js";
import { HOW_TO_GET_REDIS, hasRedisServer, type LocalRedis, startLocalRedis } from "./start/local-redis.js";
import { formatLogLine, palette } from "./start/log-lines.js";
import { pingRedis } from "./start/redis-ping.js";
import { type ServiceProcess, startService, waitReady } from "./start/service-process.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const SERVICES = ["api", "gateway", "worker"] as const;
const DEFAULT_PORTS = { api: 3000, gateway: 3001, worker: 3002 } as const;
const PORT_VARS = { api: "API_PORT", gateway: "GATEWAY_PORT", worker: "WORKER_PORT" } as const;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const TOKEN_HOURS = 24;

const env = process.env;
const c = palette(Boolean(process.stdout.isTTY) && !env.NO_COLOR);
const tags = {
  start: c.bold,
  build: c.blue,
  redis: c.red,
  archive: c.green,
  api: c.cyan,
  gateway: c.magenta,
  worker: c.yellow,
};
type Tag = keyof typeof tags;
const say = (tag: Tag, line: string) => process.stdout.write(`${tags[tag](`[${tag}]`.padEnd(10))}${line}\n`);

const services: ServiceProcess[] = [];
let redis: LocalRedis | undefined;
let embeddedPg: EmbeddedPostgres | undefined;
let stopping = false;

async function main(): Promise<number> {
  const fromSource = process.argv.includes("--source");
  if (!fromSource && !process.argv.includes("--no-build")) await buildIfStale();
  const redisUrl = await ensureRedis();
  if (redisUrl === undefined) return 1;
  const archive = await ensureArchive();

  const host = env.HOST ?? "127.0.0.1";
  const ports = {} as Record<(typeof SERVICES)[number], number>;
  for (const name of SERVICES) {
    const wanted = env[PORT_VARS[name]];
    ports[name] = wanted ? Number(wanted) : await pickPort(DEFAULT_PORTS[name], host);
    if (!wanted && ports[name] !== DEFAULT_PORTS[name])
      say("start", `port ${DEFAULT_PORTS[name]} is busy: ${name} uses ${ports[name]}`);
  }
  const urlOf = (name: (typeof SERVICES)[number]) =>
    `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${ports[name]}`;

  for (const name of SERVICES) {
    const childEnv: NodeJS.ProcessEnv = {
      ...env,
      PORT: String(ports[name]),
      HOST: host,
      REDIS_URL: redisUrl,
      ...(archive.url ? { DATABASE_URL: archive.url } : { ARCHIVE: "off" }),
      ...(name === "api" && !env.GATEWAY_PUBLIC_URL ? { GATEWAY_PUBLIC_URL: urlOf("gateway") } : {}),
      // The console is served by the API: another origin than the gateway's, so the gateway must allow it.
      ...(name === "gateway" && !env.CORS_ORIGINS
        ? { CORS_ORIGINS: `${urlOf("api")},http://localhost:${ports.api}` }
        : {}),
    };
    const args = fromSource
      ? ["--conditions=@threadline/source", "--import", "tsx", join(REPO, "services", name, "src", "main.ts")]
      : [join(REPO, "services", name, "dist", "main.js")];
    services.push(
      startService(
        { name, args, cwd: join(REPO, "services", name), env: childEnv, readyUrl: `${urlOf(name)}/readyz` },
        (line) => say(name, formatLogLine(line, c)),
      ),
    );
  }
  try {
    await Promise.all(services.map((s) => waitReady(s, READY_TIMEOUT_MS)));
  } catch (error) {
    say("start", c.red(`could not start the stack: ${(error as Error).message}`));
    await stopAll();
    return 1;
  }
  for (const service of services) {
    service.exited.then((how) => {
      if (stopping) return;
      say("start", c.red(`${service.name} exited unexpectedly (${how}); stopping everything`));
      void shutdown(1);
    });
  }

  const secret = env.JWT_SECRET ?? DEV_JWT_SECRET;
  const token = env.JWT_PUBLIC_KEY
    ? "(JWT_PUBLIC_KEY is set: sign a token with your private key)"
    : signDevToken(secret, {
        sub: "dev",
        threads: ["*"],
        ttlSeconds: TOKEN_HOURS * 3600,
        ...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
        ...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
      });
  process.stdout.write(
    banner(
      {
        apiUrl: urlOf("api"),
        // The console reads `#token=` from the fragment, which browsers never send to a server.
        ...(existsSync(join(REPO, "packages", "console", "package.json"))
          ? { consoleUrl: `${urlOf("api")}/${env.JWT_PUBLIC_KEY ? "" : `#token=${token}`}` }
          : {}),
        gatewayUrl: urlOf("gateway"),
        workerUrl: urlOf("worker"),
        redis: redisDescription(redisUrl),
        archive: archive.description,
        token,
        tokenHours: TOKEN_HOURS,
      },
      c,
    ),
  );
  return await new Promise<number>(() => {});
}

/** What `pnpm start` builds: the services and, when the repository has it, the web console the API serves at `/`. */
function buildRoots(): string[] {
  const console = existsSync(join(REPO, "packages", "console", "package.json")) ? ["packages/console"] : [];
  return [...SERVICES.map((s) => `services/${s}`), ...console];
}

async function buildIfStale(): Promise<void> {
  const roots = buildRoots();
  const dirs = workspaceClosure(REPO, roots);
  const stale = staleBuilds(REPO, dirs);
  if (stale.length === 0) return;
  say("build", `building ${stale.join(", ")} (turbo) …`);
  const turbo = join(REPO, "node_modules", ".bin", "turbo");
  const turboArgs = [
    "run",
    "build",
    "--output-logs=errors-only",
    ...roots.map((dir) => `--filter=@threadline/${dir.split("/")[1]}`),
  ];
  const [cmd, args] = existsSync(turbo) ? [turbo, turboArgs] : ["pnpm", ["exec", "turbo", ...turboArgs]];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: { ...env, TURBO_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) if (line.trim()) say("build", line);
      });
    }
    child.once("exit", (exitCode) => resolve(exitCode ?? 1));
    child.once("error", (error) => {
      say("build", c.red(`cannot run turbo: ${error.message}; run pnpm install first`));
      resolve(1);
    });
  });
  if (code !== 0) {
    say("build", c.red("build failed; fix the errors above (or run `pnpm build`) and start again"));
    process.exit(1);
  }
}

/** The Redis to use: REDIS_URL when it answers, else a local redis-server we start. */
async function ensureRedis(): Promise<string | undefined> {
  if (env.REDIS_CLUSTER_NODES) {
    say("redis", `using Redis Cluster at ${env.REDIS_CLUSTER_NODES}`);
    return env.REDIS_URL ?? "redis://127.0.0.1:6379";
  }
  const url = env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const ping = await pingRedis(url);
  if (ping.ok) {
    say("redis", `using the Redis that answers at ${redisDescription(url)}`);
    return url;
  }
  if (env.REDIS_URL && ping.reason.startsWith("Redis answered")) {
    say("redis", c.red(`REDIS_URL ${redisDescription(url)}: ${ping.reason}; fix REDIS_URL or unset it`));
    return undefined;
  }
  const bin = env.REDIS_SERVER_BIN ?? "redis-server";
  if (!hasRedisServer(bin)) {
    say("redis", c.red(`nothing answers at ${redisDescription(url)} (${ping.reason})`));
    process.stderr.write(`\n${HOW_TO_GET_REDIS}\n`);
    return undefined;
  }
  const dir = join(env.THREADLINE_DATA_DIR ?? join(REPO, ".threadline"), "redis");
  say(
    "redis",
    `nothing answers at ${redisDescription(url)}: starting a local redis-server (data in ${dir}, AOF on)`,
  );
  const port = env.LOCAL_REDIS_PORT ? Number(env.LOCAL_REDIS_PORT) : undefined;
  redis = await startLocalRedis(bin, dir, (line) => say("redis", c.gray(line)), port);
  say("redis", `local redis-server ready at ${redis.url} (pid ${redis.pid()})`);
  return redis.url;
}

/**
 * The archive's PostgreSQL: the server at DATABASE_URL when it answers (its database created when
 * missing), else an embedded PGlite with its data under .threadline/pglite; none with ARCHIVE=off.
 */
async function ensureArchive(): Promise<{ url?: string; description: string }> {
  if (env.ARCHIVE === "off") {
    say("archive", "ARCHIVE=off: no archive (threads live only as long as Redis keeps them)");
    return { description: "off (ARCHIVE=off)" };
  }
  if (env.DATABASE_URL) {
    try {
      const created = await ensureDatabase(env.DATABASE_URL);
      const where = redisDescription(env.DATABASE_URL);
      say(
        "archive",
        `using the PostgreSQL server at ${where}${created === "created" ? " (database created)" : ""}`,
      );
      return { url: env.DATABASE_URL, description: `PostgreSQL server at ${where}` };
    } catch (error) {
      say(
        "archive",
        c.red(`DATABASE_URL does not answer (${(error as Error).message}): using the embedded one`),
      );
    }
  }
  const dir = join(env.THREADLINE_DATA_DIR ?? join(REPO, ".threadline"), "pglite");
  const port = env.EMBEDDED_PG_PORT ? Number(env.EMBEDDED_PG_PORT) : undefined;
  embeddedPg = await startEmbeddedPostgres(dir, port);
  say("archive", `embedded PostgreSQL (PGlite) at ${embeddedPg.url}, data in ${dir}`);
  return {
    url: embeddedPg.url,
    description: `embedded PostgreSQL (PGlite) at ${embeddedPg.url}, data in ${dir}`,
  };
}

function redisDescription(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString().replace(/\/$/, "");
}

async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all(services.map((s) => s.stop(STOP_TIMEOUT_MS)));
  if (embeddedPg) {
    say("archive", "stopping the embedded PostgreSQL");
    await embeddedPg.stop();
  }
  if (redis) {
    say("redis", "stopping the local redis-server");
    await redis.stop();
  }
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  say("start", "stopping api, gateway and worker …");
  await stopAll();
  say("start", "stopped");
  process.exit(code);
}

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) {
      say("start", c.red("second signal: killing everything now"));
      process.exit(130);
    }
    void shutdown(0);
  });
}
// Whatever happens to this process, its children do not outlive it.
process.on("exit", () => {
  for (const s of services) if (s.child.exitCode === null) s.child.kill("SIGKILL");
  redis?.killNow();
});

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    say("start", c.red(`failed: ${error instanceof Error ? error.message : String(error)}`));
    await stopAll();
    process.exit(1);
  },
);
