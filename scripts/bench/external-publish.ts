/**
 * External-run publish throughput: HTTP publish (one event per request, and batches of 100) against
 * a real API process, and the Python SDK (RunPublisher over HTTP, RedisRunPublisher on the script)
 * as a child process. Loopback only; every loop is bounded by --events.
 *
 * Usage: pnpm bench:external [--events 20000] [--python-events 20000]
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { getTestRedis, startServiceProcess, uniqueId } from "@threadline/testing";
import { scriptArgs } from "./lib/cli-args.js";

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    events: { type: "string", default: "20000" },
    "python-events": { type: "string", default: "20000" },
  },
});
const EVENTS = Number(values.events);
const PY_EVENTS = Number(values["python-events"]);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const USER = signDevToken(DEV_JWT_SECRET, { sub: "bench-external" });

// An entry point: the test kit gets this process's environment (it defaults to vitest's, absent here).
const redis = await getTestRedis(process.env);
const env = {
  REDIS_URL: redis.url,
  QUEUE_PREFIX: `{${uniqueId("bx")}}`,
  LOG_LEVEL: "warn",
  RATE_LIMIT_RUNS_PER_MINUTE: "0",
  EXTERNAL_RUN_TIMEOUT_MS: "600000",
  LOG_MAXLEN: "1000000",
};
const api = await startServiceProcess({ kind: "api", name: "api", env, parentEnv: process.env });

async function createRun() {
  const res = await fetch(`${api.url}/v1/threads/${uniqueId("bench")}/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${USER}`, "content-type": "application/json" },
    body: JSON.stringify({ runner: "external" }),
  });
  if (res.status !== 202) throw new Error(`create run: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, string>;
}

/** events/s of one producer POSTing `batch` events per request, one request at a time. */
async function httpRate(batch: number): Promise<number> {
  const run = await createRun();
  const url = `${api.url}${run.publishUrl}`;
  const headers = { authorization: `Bearer ${run.publishToken}`, "content-type": "application/json" };
  const requests = Math.ceil(EVENTS / batch);
  const started = performance.now();
  for (let r = 0; r < requests; r++) {
    const events = Array.from({ length: batch }, (_, i) => ({
      type: "token",
      content: `token ${r * batch + i} `,
      idempotencyKey: `${r}:${i}`,
    }));
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify(batch === 1 ? events[0] : events),
    });
    if (res.status !== 200) throw new Error(`publish: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  return Math.round((requests * batch) / ((performance.now() - started) / 1000));
}

/** Runs the Python SDK's throughput child; it prints events/s. */
async function pythonRate(mode: "http" | "redis"): Promise<string> {
  const run = await createRun();
  const file = join(tmpdir(), `${run.runId}.json`);
  writeFileSync(file, JSON.stringify(run));
  const code = `
import json, sys, time
import redis
from threadline import ExternalRun, RedisRunPublisher, RunPublisher
mode, api, run_file, redis_url, n = sys.argv[1:6]
n = int(n)
d = json.load(open(run_file))
run = ExternalRun(d["threadId"], d["runId"], d["publishUrl"], d["publishToken"], d["eventsUrl"])
started = time.perf_counter()
if mode == "http":
    with RunPublisher(api, run, max_batch=100, flush_interval=0.05) as pub:
        for i in range(n):
            pub.token(f"token {i} ")
else:
    client = redis.Redis.from_url(redis_url)
    pub = RedisRunPublisher(client, run.thread_id, run.run_id, log_max_len=1000000)
    for i in range(n):
        pub.token(f"token {i} ")
    pub.done()
print(round(n / (time.perf_counter() - started)))
`;
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", ["-c", code, mode, api.url, file, redis.url, String(PY_EVENTS)], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: "packages/python", PYTHONDONTWRITEBYTECODE: "1" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("error", reject);
    child.once("exit", (status) => (status === 0 ? resolve(out.trim()) : reject(new Error(out))));
  });
}

try {
  const one = await httpRate(1);
  const hundred = await httpRate(100);
  const pyHttp = await pythonRate("http");
  const pyRedis = await pythonRate("redis");
  console.log(
    `redis: ${redis.source}; api: one process; ${EVENTS} events per HTTP row, ${PY_EVENTS} per Python row`,
  );
  console.log("| producer | events/s |");
  console.log("|---|---|");
  console.log(`| HTTP publish, 1 event per request (sequential, keep-alive) | ${one} |`);
  console.log(`| HTTP publish, 100 events per request (sequential) | ${hundred} |`);
  console.log(`| Python RunPublisher (HTTP, batches of 100, flush 50 ms) | ${pyHttp} |`);
  console.log(`| Python RedisRunPublisher (EVALSHA, one at a time) | ${pyRedis} |`);
} finally {
  await api.process.stop(5_000);
  await redis.stop();
}
