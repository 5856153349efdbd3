import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { eventually, openSse, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCliProcess } from "../../packages/cli/src/test-support/run-cli-process.js";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { type Exposition, parseExposition } from "../support/prometheus-text.js";

// Operators' tools against the real stack: the `threadline` CLI as a child process, every service's
// /metrics after demo runs, and the Grafana dashboard's queries checked against those metrics.
const DASHBOARD = fileURLToPath(new URL("../../infra/grafana/threadline.json", import.meta.url));
const DEMO_INPUT = JSON.stringify({
  prompt: "what is 6*7? count the words too",
  tokensPerSecond: 400,
  maxTokens: 24,
});
const ADMIN = `Bearer ${signDevToken(DEV_JWT_SECRET, { sub: "ops-e2e", role: "admin" })}`;

let topology: Topology;
let cliEnv: Record<string, string>;
const threads: string[] = [];
const runIds: string[] = [];

beforeAll(async () => {
  topology = await startTopology({
    gateways: 1,
    apis: 1,
    workers: 1,
    nginx: false,
    // Info logs (the topology defaults to warn), debug on the gateway: its per-stream lines (opened,
    // ended) are what the log test reads.
    env: { LOG_LEVEL: "info" },
    envFor: { api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" }, gateway: { LOG_LEVEL: "debug" } },
  });
  cliEnv = {
    THREADLINE_API_URL: topology.apis[0]!.url,
    THREADLINE_GATEWAY_URL: topology.gateways[0]!.url,
    ...topology.redisEnv,
  };
}, 180_000);

afterAll(async () => {
  await topology?.stop();
}, 60_000);

const cli = (args: string[]) => runCliProcess(args, { env: cliEnv, timeoutMs: 45_000 });

async function createRun(thread: string): Promise<string> {
  const created = await cli(["runs", "create", thread, "--input", DEMO_INPUT]);
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
  const body = JSON.parse(created.stdout) as { runId: string; status: string };
  expect(body.status).toBe("queued");
  threads.push(thread);
  runIds.push(body.runId);
  return body.runId;
}

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

/** Services across a topology take a while to agree: up to 30 s, looking every 100 ms. */
const SETTLE = { timeoutMs: 30_000, intervalMs: 100 };
const settle = (what: string) => ({ timeout: SETTLE.timeoutMs, interval: SETTLE.intervalMs, message: what });

function lines(result: CliResult): string[] {
  return result.stdout.split("\n").filter((l) => l !== "");
}

describe("threadline CLI against the running stack", () => {
  it("tail shows a live run as it happens, and tail --json --until-done equals the gateway's events", async () => {
    const thread = uniqueId("ops-tail");
    const gateway = topology.gateways[0]!.url;
    const openStreams = async () => (await scrape(gateway)).value("threadline_gateway_open_streams") ?? 0;
    const before = await openStreams();
    const live = cli(["tail", thread, "--until-done"]);
    await expect.poll(openStreams, settle("the live tail's stream to open")).toBe(before + 1);
    const runId = await createRun(thread);

    const human = await live;
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toContain("● connected");
    expect(human.stdout).toMatch(/── \d\d:\d\d:\d\d\.\d{3} status running/);
    expect(human.stdout).toMatch(/→ tool \w+\(\{.*\}\)/);
    expect(human.stdout).toMatch(/← \w+: /);
    expect(human.stdout).toMatch(/✔ {2}\d\d:\d\d:\d\d\.\d{3} done \(stop\)/);
    expect(human.stdout).toContain(runId);

    const json = await cli(["tail", thread, "--from-start", "--json", "--until-done"]);
    expect(json.code, json.stderr).toBe(0);
    const sse = await openSse(`${gateway}/v1/threads/${thread}/events?after=0&until=done`, {
      headers: { authorization: ADMIN },
    });
    await sse.ended;
    expect(sse.status).toBe(200);
    const gatewayEvents = sse.events.map((e) => e.data);
    expect(gatewayEvents.length).toBeGreaterThan(5);
    expect(lines(json)).toEqual(gatewayEvents);
    expect(JSON.parse(gatewayEvents.at(-1) ?? "{}")).toMatchObject({ type: "done", runId });
  });

  it("runs get / list / cancel talk to the API; errors are one line with a non-zero exit", async () => {
    const thread = threads[0]!;
    const runId = runIds[0]!;
    const got = await cli(["runs", "get", thread, runId]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      runId,
      threadId: thread,
      status: "completed",
      attempts: 1,
    });
    const list = await cli(["runs", "list", thread]);
    expect(list.code).toBe(0);
    expect(lines(list)).toHaveLength(1);
    expect(list.stdout).toMatch(new RegExp(`^${runId} +completed +demo `));
    const cancel = await cli(["runs", "cancel", thread, runId]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/^threadline: API 409: RUN_FINISHED: .+\n$/);
    const missing = await cli(["runs", "get", thread, "run_nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^threadline: API 404: RUN_NOT_FOUND: /);
  });
});

describe("metrics after demo runs", () => {
  it("every named metric appears with plausible values and bounded labels", async () => {
    await createRun(uniqueId("ops-metrics"));
    const api = await scrape(topology.apis[0]!.url);
    const gateway = await scrape(topology.gateways[0]!.url);
    const worker = await eventually(
      () => scrape(topology.workers[0]!.url),
      (m) => (m.value("threadline_worker_jobs_total", { outcome: "completed" }) ?? 0) >= runIds.length,
      "every run to complete",
      SETTLE,
    );
    const runs = runIds.length;

    // Worker: jobs by outcome, run duration, time to first token, events by type, queue depth per state.
    expect(worker.value("threadline_worker_jobs_total", { outcome: "completed" })).toBe(runs);
    expect(worker.value("threadline_worker_jobs_total", { outcome: "failed" })).toBe(0);
    expect(worker.value("threadline_worker_run_duration_seconds_count", { outcome: "completed" })).toBe(runs);
    expect(worker.value("threadline_worker_time_to_first_token_seconds_count")).toBe(runs);
    const ttftSum = worker.value("threadline_worker_time_to_first_token_seconds_sum") ?? -1;
    expect(ttftSum).toBeGreaterThan(0);
    expect(ttftSum / runs).toBeLessThan(10);
    expect(worker.value("threadline_worker_queue_wait_seconds_count")).toBe(runs);
    expect(worker.value("threadline_worker_events_published_total", { type: "done" })).toBe(runs);
    expect(
      worker.value("threadline_worker_events_published_total", { type: "token" }),
    ).toBeGreaterThanOrEqual(runs);
    expect(
      worker.value("threadline_worker_events_published_total", { type: "status" }),
    ).toBeGreaterThanOrEqual(runs);
    expect(
      worker.value("threadline_worker_events_published_total", { type: "delta" }),
    ).toBeGreaterThanOrEqual(runs);
    for (const state of ["waiting", "active", "delayed", "failed"]) {
      expect(worker.value("threadline_worker_queue_jobs", { state }), state).toBe(0);
    }
    expect(worker.value("threadline_worker_active_runs")).toBe(0);
    expect(worker.value("threadline_worker_process_resident_memory_bytes")).toBeGreaterThan(0);

    // API: request counts and latency by route template and status.
    const created = { route: "/v1/threads/:threadId/runs", method: "POST", status: "202" };
    expect(api.value("threadline_api_http_requests_total", created)).toBe(runs);
    expect(api.value("threadline_api_http_request_duration_seconds_count", created)).toBe(runs);
    expect(api.value("threadline_api_http_requests_total", { status: "404" })).toBeGreaterThanOrEqual(1);
    expect(api.value("threadline_api_process_resident_memory_bytes")).toBeGreaterThan(0);

    // Gateway: open streams (all closed again), deliveries live and replayed, lag, replays, drops.
    await expect
      .poll(
        async () => (await scrape(topology.gateways[0]!.url)).value("threadline_gateway_open_streams"),
        settle("streams to close"),
      )
      .toBe(0);
    expect(gateway.value("threadline_gateway_events_delivered_total", { source: "live" })).toBeGreaterThan(5);
    expect(gateway.value("threadline_gateway_events_delivered_total", { source: "replay" })).toBeGreaterThan(
      5,
    );
    expect(gateway.value("threadline_gateway_delivery_lag_seconds_count")).toBeGreaterThan(5);
    const lagMean =
      (gateway.value("threadline_gateway_delivery_lag_seconds_sum") ?? 99) /
      (gateway.value("threadline_gateway_delivery_lag_seconds_count") ?? 1);
    expect(lagMean).toBeLessThan(1);
    expect(gateway.value("threadline_gateway_replayed_events_total")).toBeGreaterThan(5);
    for (const declared of [
      "threadline_gateway_invalid_messages_dropped_total",
      "threadline_gateway_slow_consumer_cutoffs_total",
      "threadline_gateway_rejected_streams_total",
    ]) {
      expect(gateway.types.get(declared), declared).toBe("counter");
    }
    expect(gateway.value("threadline_gateway_process_resident_memory_bytes")).toBeGreaterThan(0);

    // Bounded cardinality: no label value names a thread or a run.
    for (const [service, exposition] of Object.entries({ api, gateway, worker })) {
      for (const sample of exposition.samples) {
        expect(sample.name.startsWith("threadline_"), `${service} ${sample.name}`).toBe(true);
        for (const value of Object.values(sample.labels)) {
          for (const id of [...threads, ...runIds])
            expect(value, `${service} ${sample.name}`).not.toContain(id);
        }
      }
    }
  });
});

describe("infra/grafana/threadline.json", () => {
  it("is a valid dashboard whose every query names metrics the services export", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
      title: string;
      uid: string;
      panels: { id: number; type: string; targets?: { expr: string }[] }[];
    };
    expect(dashboard).toMatchObject({ title: "Threadline", uid: "threadline" });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);

    const exported = new Set<string>();
    for (const service of [topology.apis[0]!, topology.gateways[0]!, topology.workers[0]!]) {
      for (const name of (await scrape(service.url)).names) exported.add(name);
    }
    for (const expr of exprs) {
      const names = expr.match(/\bthreadline_[a-z0-9_]+\b/g) ?? [];
      expect(names.length, `query without a threadline metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${name} in ${expr}`).toBe(true);
    }
    // The headline panels of the issue are there.
    const all = exprs.join("\n");
    for (const needed of [
      "threadline_gateway_open_streams",
      "threadline_gateway_events_delivered_total",
      "histogram_quantile(0.99, sum by (le) (rate(threadline_gateway_delivery_lag_seconds_bucket",
      "histogram_quantile(0.5, sum by (le) (rate(threadline_gateway_delivery_lag_seconds_bucket",
      "threadline_worker_time_to_first_token_seconds_bucket",
      "threadline_worker_queue_jobs",
      'threadline_worker_jobs_total{outcome=~"failed',
      "threadline_api_http_request_duration_seconds_bucket",
    ]) {
      expect(all).toContain(needed);
    }
  });
});

describe("logs", () => {
  type Line = Record<string, unknown> & { service?: string; msg?: string };
  const logLines = (output: string): Line[] =>
    output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Line);

  it("are JSON lines with service, reqId, threadId and runId where known; tokens and prompts never appear", async () => {
    const gatewayUrl = topology.gateways[0]!.url;
    const thread = threads[0]!;
    const gatewayProcess = topology.gateways[0]!.process;
    const streamsEnded = () =>
      logLines(gatewayProcess.output()).filter((l) => l.msg === "stream ended").length;
    const endedBefore = streamsEnded();
    // A stream authenticated through the query string: its token must not reach the log.
    const queryStream = await openSse(
      `${gatewayUrl}/v1/threads/${thread}/events?access_token=${ADMIN.slice(7)}`,
    );
    expect(queryStream.status).toBe(200);
    queryStream.close();
    await expect.poll(streamsEnded, settle("the query-token stream to end")).toBeGreaterThan(endedBefore);

    const api = logLines(topology.apis[0]!.process.output());
    const worker = logLines(topology.workers[0]!.process.output());
    const gateway = logLines(gatewayProcess.output());
    for (const [service, lines] of Object.entries({ api, worker, gateway })) {
      expect(lines.length, service).toBeGreaterThan(0);
      for (const line of lines) expect(line.service, JSON.stringify(line)).toBe(service);
    }
    runIds.forEach((runId, i) => {
      const threadId = threads[i];
      const queued = api.find((l) => l.msg === "run queued" && l.runId === runId);
      expect(queued, runId).toMatchObject({ threadId, reqId: expect.any(String) });
      for (const msg of ["run started", "run completed"]) {
        expect(
          worker.find((l) => l.msg === msg && l.runId === runId),
          `${msg} ${runId}`,
        ).toMatchObject({ threadId });
      }
    });
    for (const msg of ["stream opened", "stream ended"]) {
      const line = gateway.find((l) => l.msg === msg && l.threadId === thread);
      expect(line, msg).toMatchObject({ reqId: expect.any(String), streamId: expect.any(String) });
    }
    const all = [api, worker, gateway].flat().map((l) => JSON.stringify(l));
    expect(all.filter((l) => l.includes(ADMIN.slice(7)))).toEqual([]);
    expect(all.filter((l) => /access_token=(?!\[redacted\])/.test(l))).toEqual([]);
    expect(all.filter((l) => l.includes("what is 6*7"))).toEqual([]);
  });
});
