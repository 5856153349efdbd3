import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ThreadEvent } from "@threadline/protocol";
import { compareIds, createRunRecords } from "@threadline/redis";
import { OpenAiStream, openAiTextReply, startFakeOpenAiServer, uniqueId } from "@threadline/testing";
import { describe, expect, it } from "vitest";
import {
  brief,
  jobData,
  newPrefix,
  openQueue,
  seedRunRecord,
  useWorkerRedis,
  watchThread,
} from "./test-support/harness.js";
import { startWorkerProcess, type WorkerProcess } from "./test-support/worker-process.js";

const t = useWorkerRedis();

/** Short lock and stall check so a killed worker's job is retried within about 1.5 s. */
function env(prefix: string, extra: Record<string, string> = {}) {
  return {
    REDIS_URL: t.redis.url,
    QUEUE_PREFIX: prefix,
    STALLED_INTERVAL_MS: "500",
    LOCK_DURATION_MS: "1000",
    TOKEN_COALESCE_MS: "0",
    ...extra,
  };
}

async function setup(names: string[], extra: Record<string, string> = {}, entry?: string) {
  const prefix = newPrefix();
  const workers = await Promise.all(
    names.map((n) => startWorkerProcess(n, env(prefix, extra), entry ? { entry } : {})),
  );
  const queue = openQueue(t.redis.url, prefix);
  t.cleanups.push(
    () => Promise.all(workers.map((w) => w.stop(2_000))),
    () => queue.close(),
  );
  const threadId = uniqueId("th");
  const live = await watchThread(t.redis.url, threadId);
  t.cleanups.push(() => live.close());
  return { workers, queue, threadId, live };
}

/** The worker process executing the run (read from each one's metrics). */
async function holder(workers: WorkerProcess[]): Promise<WorkerProcess> {
  const counts = await Promise.all(workers.map((w) => w.activeRuns()));
  const index = counts.indexOf(1);
  if (index < 0) throw new Error(`no worker holds the run: ${counts}`);
  return workers[index]!;
}

function expectGapFree(events: ThreadEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  for (let i = 1; i < events.length; i++)
    expect(compareIds(events[i - 1]!.id!, events[i]!.id!)).toBeLessThan(0);
}

const tokens = (events: ThreadEvent[]) => events.filter((e) => e.type === "token").length;

describe("worker processes (real child processes, real Redis)", { timeout: 30_000 }, () => {
  it("SIGKILL mid-run: the other worker resumes the stalled job after its last checkpoint; gap-free seq, completed", async () => {
    const { workers, queue, threadId, live } = await setup(["worker-a", "worker-b"]);
    const data = jobData(threadId, "demo", { prompt: "survive a crash", tokensPerSecond: 50, maxTokens: 60 });
    const runs = createRunRecords(t.client);
    await seedRunRecord(
      t.client,
      {
        runId: data.runId,
        threadId,
        agent: "demo",
        status: "queued",
        createdAt: new Date().toISOString(),
        attempts: 0,
      },
      60,
    );
    await queue.enqueue(data, { attempts: 3 });
    await live.until((e) => tokens(e) >= 5);
    const victim = await holder(workers);
    await victim.kill("SIGKILL");
    const events = await live.done(data.runId, 15_000);

    const kinds = events.map(brief);
    const retry = kinds.indexOf("status:retrying#2");
    expect(kinds[0]).toBe("status:running#1");
    expect(retry).toBeGreaterThan(5);
    // The demo's two tool steps were checkpointed before its tokens: the retry resumes after step 2,
    // so its tools are not called again and only the answer (the step in flight) is streamed again.
    expect(events[retry]?.content).toMatchObject({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    expect(kinds.slice(retry + 1, retry + 3)).toEqual(["status:running", "token"]);
    expect(kinds.filter((k) => k === "delta:tool_result")).toHaveLength(2);
    expect(kinds.at(-1)).toBe("done:stop");
    expect(tokens(events.slice(retry))).toBe(60);
    expectGapFree(events);
    const record = await runs.get(threadId, data.runId);
    expect(record).toMatchObject({ status: "completed", attempts: 2 });
  });

  // Two processes, two sub-agents and a paced answer: about 50 s on a loaded 2-core box.
  it("SIGKILL after the research agent's sub-agents finished, before its answer: the retry runs no sub-agent again", {
    timeout: 90_000,
  }, async () => {
    const { workers, queue, threadId, live } = await setup(["worker-a", "worker-b"]);
    const data = jobData(threadId, "research", {
      prompt: "Why do resumable streams need monotonic event ids?",
      tokensPerSecond: 15,
    });
    await queue.enqueue(data, { attempts: 3 });
    // Step 2 (both sub-agents) is checkpointed, and the answer has begun.
    await live.until(
      (e) =>
        e.some((x) => x.type === "delta" && x.content.kind === "checkpoint" && x.content.step === 2) &&
        tokens(e.filter((x) => x.agent === undefined)) >= 2,
      15_000,
    );
    const victim = await holder(workers);
    await victim.kill("SIGKILL");
    const events = await live.done(data.runId, 20_000);

    const retry = events.findIndex((e) => e.type === "status" && e.content.state === "retrying");
    expect(events[retry]?.content).toMatchObject({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    // Every tool ran once: one word_count result per sub-agent, one result per sub-agent call, all
    // before the kill; after it, no sub-agent event at all.
    const results = events.flatMap((e) =>
      e.type === "delta" && e.content.kind === "tool_result"
        ? [`${(e.agent ?? []).join("/")}:${String(e.content.name)}`]
        : [],
    );
    expect(results.sort()).toEqual([
      ":critic",
      ":researcher",
      "supervisor/critic:word_count",
      "supervisor/researcher:word_count",
    ]);
    expect(events.slice(retry).some((e) => e.agent !== undefined)).toBe(false);
    expect(events.slice(retry).filter((e) => e.type === "delta" && e.content.kind === "tool_call")).toEqual(
      [],
    );
    // The final answer arrives; seq stays gap-free across the two attempts.
    expect(events.at(-1)?.content).toMatchObject({ finishReason: "stop" });
    // The answer (the step in flight) is streamed again in full by the retry.
    const answer = events
      .slice(retry)
      .flatMap((e) => (e.type === "token" ? [e.content] : []))
      .join("");
    expect(answer).toBe((events.at(-1)?.content as { output?: { text?: string } } | undefined)?.output?.text);
    expectGapFree(events);
  });

  // Two processes and a real SDK against the fake OpenAI server: about 35 s on a loaded 2-core box.
  it("SIGKILL after the openai agent's tool ran, before its answer: the retry resumes with the tool's result — the tool ran once", {
    timeout: 90_000,
  }, async () => {
    // The model: turn 1 calls record_visit (a tool with a side effect the test counts: a line in a
    // file), turn 2 answers slowly — the worker is killed mid-answer — then the retry's turn 2 answers.
    const llm = await startFakeOpenAiServer();
    const dir = mkdtempSync(join(tmpdir(), "threadline-visits-"));
    const visits = join(dir, "visits");
    writeFileSync(visits, "");
    t.cleanups.push(
      () => llm.close(),
      async () => rmSync(dir, { recursive: true, force: true }),
    );
    const answer = Array.from({ length: 40 }, (_, i) => `word${i} `);
    const toolTurn = {
      kind: "sse" as const,
      frames: new OpenAiStream()
        .role()
        .text("Signing the guest book.")
        .toolCall(0, "call_1", "record_visit")
        .toolArgs(0, '{"visitor":', '"ada"}')
        .finish("tool_calls")
        .usage(40, 12)
        .done()
        .frames(),
    };
    // Answers what it is asked, as a model would: a run that started over would call the tool again.
    let answers = 0;
    llm.setFallback((request) => {
      const sent = (request.body as { messages?: { role: string }[] } | undefined)?.messages ?? [];
      if (sent.at(-1)?.role !== "tool") return toolTurn;
      answers += 1;
      return openAiTextReply(answer, { promptTokens: 80, ...(answers === 1 ? { frameDelayMs: 300 } : {}) });
    });
    const { workers, queue, threadId, live } = await setup(
      ["worker-a", "worker-b"],
      { OPENAI_BASE_URL: llm.baseUrl, VISITS_FILE: visits },
      "services/worker/src/test-support/visit-counting-worker-main.ts",
    );
    const data = jobData(threadId, "openai", { prompt: "Sign the guest book as ada, then say hello." });
    await queue.enqueue(data, { attempts: 3 });
    // The tool's result is checkpointed (step 2: after the turn that called it), and the answer has begun.
    await live.until((e) => {
      const result = e.findIndex((x) => x.type === "delta" && x.content.kind === "tool_result");
      return (
        e.some((x) => x.type === "delta" && x.content.kind === "checkpoint" && x.content.step === 2) &&
        result >= 0 &&
        tokens(e.slice(result)) >= 2
      );
    }, 30_000);
    const victim = await holder(workers);
    await victim.kill("SIGKILL");
    const events = await live.done(data.runId, 20_000);

    const retry = events.findIndex((e) => e.type === "status" && e.content.state === "retrying");
    expect(events[retry]?.content).toMatchObject({ state: "retrying", attempt: 2, resumedFromStep: 2 });
    // The tool ran once (its side effect and its events), before the kill; the retry repeats neither.
    expect(readFileSync(visits, "utf8")).toBe("ada\n");
    const toolEvents = events.filter(
      (e) => e.type === "delta" && (e.content.kind === "tool_call" || e.content.kind === "tool_result"),
    );
    expect(toolEvents.every((e) => events.indexOf(e) < retry)).toBe(true);
    expect(toolEvents.filter((e) => e.type === "delta" && e.content.kind === "tool_result")).toMatchObject([
      { content: { toolCallId: "call_1", name: "record_visit", result: { visitor: "ada", visits: 1 } } },
    ]);
    // The retry asked the model only for the answer, with the conversation rebuilt from the checkpoint:
    // the very messages the killed attempt had sent for it (the tool call and its result included).
    expect(llm.requests).toHaveLength(3);
    const messages = (n: number) => (llm.requests[n]?.body as { messages?: unknown } | undefined)?.messages;
    expect(messages(2)).toEqual(messages(1));
    expect(JSON.stringify(messages(2))).toContain('\\"visits\\":1');
    // The first turn's text is not streamed again; the answer (the step in flight) comes again in full.
    const retried = events.slice(retry);
    expect(retried.filter((e) => e.type === "token" && e.content.includes("guest book"))).toEqual([]);
    expect(retried.flatMap((e) => (e.type === "token" ? [e.content] : [])).join("")).toBe(answer.join(""));
    expect(events.at(-1)?.content).toMatchObject({
      finishReason: "stop",
      output: { text: answer.join(""), steps: 2 },
    });
    expectGapFree(events);
  });

  it("SIGTERM within the grace period: the active run finishes, no new job is taken, exit 0", async () => {
    const { workers, queue, threadId, live } = await setup(["worker-a"], { WORKER_GRACE_MS: "5000" });
    const [worker] = workers as [WorkerProcess];
    const data = jobData(threadId, "demo", { prompt: "finish me", tokensPerSecond: 40, maxTokens: 40 });
    await queue.enqueue(data);
    await live.until((e) => tokens(e) >= 2);
    const sigtermAt = Date.now();
    await worker.kill("SIGTERM").then(
      () => undefined,
      () => undefined,
    );
    const exit = await worker.exited;
    const after = jobData(threadId, "demo", { prompt: "too late", tokensPerSecond: 0, maxTokens: 3 });
    await queue.enqueue(after);

    expect(exit.code).toBe(0);
    expect(Date.now() - sigtermAt).toBeLessThan(5_000);
    const events = live.events.filter((e) => e.runId === data.runId);
    expect(events.map(brief).at(-1)).toBe("done:stop");
    expect(tokens(events)).toBe(40);
    expect(events.map(brief)).not.toContain("status:retrying#2");
    expect(await queue.queue.getJobState(data.runId)).toBe("completed");
    expect(await queue.queue.getJobState(after.runId)).toBe("waiting");
  });

  it("SIGTERM past the grace period: the run is handed back and another worker completes it", async () => {
    const { workers, queue, threadId, live } = await setup(["worker-a", "worker-b"], {
      WORKER_GRACE_MS: "300",
    });
    const data = jobData(threadId, "demo", { prompt: "hand me over", tokensPerSecond: 40, maxTokens: 80 });
    await queue.enqueue(data, { attempts: 2 });
    await live.until((e) => tokens(e) >= 3);
    const leaving = await holder(workers);
    const sigtermAt = Date.now();
    await leaving.kill("SIGTERM");
    expect((await leaving.exited).code).toBe(0);
    expect(Date.now() - sigtermAt).toBeLessThan(3_000);
    const events = await live.done(data.runId, 15_000);
    const kinds = events.map(brief);
    const retry = kinds.indexOf("status:retrying#2");
    expect(retry).toBeGreaterThan(0);
    expect(kinds.slice(0, retry)).not.toContain("done:stop");
    expect(kinds.at(-1)).toBe("done:stop");
    expect(tokens(events.slice(retry))).toBe(80);
    expectGapFree(events);
  });
});
