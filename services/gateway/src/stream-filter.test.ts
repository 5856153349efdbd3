import type { ThreadEvent } from "@threadline/protocol";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { matchesFilter, streamFilterOf, streamFilterQuery } from "./stream-filter.js";

const Query = z.object(streamFilterQuery);
const filterOf = (query: Record<string, string>) => {
  const filter = streamFilterOf(Query.parse(query));
  if (!filter) throw new Error("no filter");
  return filter;
};

const event = (type: ThreadEvent["type"], extra: Partial<ThreadEvent> = {}) =>
  ({
    type,
    threadId: "t",
    runId: "r1",
    ts: 1,
    content: type === "token" ? "x" : {},
    ...extra,
  }) as ThreadEvent;

describe("stream filters", () => {
  it("types= keeps only the listed types", () => {
    const filter = filterOf({ types: "status,done" });
    expect(
      ["token", "status", "delta", "done", "error"].filter((t) => matchesFilter(filter, event(t as never))),
    ).toEqual(["status", "done"]);
  });

  it("runId= keeps only that run's events", () => {
    const filter = filterOf({ runId: "r1" });
    expect(matchesFilter(filter, event("token"))).toBe(true);
    expect(matchesFilter(filter, event("token", { runId: "r2" }))).toBe(false);
    expect(matchesFilter(filter, event("token", { runId: undefined }))).toBe(false);
  });

  it("agent= keeps that agent and its sub-agents, not its parent, siblings or the root", () => {
    const filter = filterOf({ agent: "supervisor/researcher" });
    const of = (agent?: string[]) => matchesFilter(filter, event("token", agent ? { agent } : {}));
    expect(of(["supervisor", "researcher"])).toBe(true);
    expect(of(["supervisor", "researcher", "searcher"])).toBe(true);
    expect(of(["supervisor"])).toBe(false);
    expect(of(["supervisor", "writer"])).toBe(false);
    expect(of(["supervisor", "researcher2"])).toBe(false);
    expect(of(undefined)).toBe(false);
  });

  it("combines the filters", () => {
    const filter = filterOf({ types: "token", runId: "r1", agent: "a" });
    expect(matchesFilter(filter, event("token", { agent: ["a", "b"] }))).toBe(true);
    expect(matchesFilter(filter, event("status", { agent: ["a"] }))).toBe(false);
    expect(matchesFilter(filter, event("token", { agent: ["a"], runId: "r2" }))).toBe(false);
  });

  it("no filter fields: no filter", () => {
    expect(streamFilterOf(Query.parse({}))).toBeUndefined();
  });

  it.each([
    ["types", "tokens"],
    ["types", "status,"],
    ["types", ""],
    ["runId", "a b"],
    ["agent", "a//b"],
    ["agent", "/a"],
    ["agent", ""],
  ])("refuses %s=%j, naming the field", (field, value) => {
    const result = Query.safeParse({ [field]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toEqual([field]);
  });
});
