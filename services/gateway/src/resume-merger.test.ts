import type { ThreadEvent } from "@threadline/protocol";
import { describe, expect, it } from "vitest";
import { createResumeMerger, type LiveMessage, type ReplayPage } from "./resume-merger.js";

/** A script-published event as it travels: `{"id":…,` first, byte-identical in the log and live. */
function real(id: string, content = `c${id}`): LiveMessage {
  const json = `{"id":"${id}","type":"token","threadId":"t","ts":1,"content":"${content}"}`;
  const event = { id, type: "token", threadId: "t", ts: 1, content } as ThreadEvent;
  return { event, json, bytes: json.length };
}
function handPublished(content: string, id?: string): LiveMessage {
  const event = { ...(id ? { id } : {}), type: "token", threadId: "t", ts: 1, content } as ThreadEvent;
  const json = JSON.stringify(event);
  return { event, json, bytes: json.length };
}
const entry = (id: string) => ({ id, json: real(id).json });
const page = (ids: string[], more = false, extra: Partial<ReplayPage> = {}): ReplayPage => ({
  entries: ids.map(entry),
  truncated: false,
  more,
  ...extra,
});

function setup(resumeFrom?: string, recentCapacity?: number) {
  const out: string[] = [];
  const reads: string[] = [];
  const merger = createResumeMerger(
    { resumeFrom, ...(recentCapacity ? { recentCapacity } : {}) },
    {
      send: (d) => out.push(`${d.source}:${d.id ?? JSON.parse(d.json).content}`),
      gap: (after) => out.push(`gap:${after}`),
      read: (after) => reads.push(after),
    },
  );
  return { merger, out, reads };
}

describe("resume merger (no sockets, no Redis)", () => {
  it("live only: drops what the tail read before subscribing already covers, passes the rest in order", () => {
    const { merger, out, reads } = setup();
    merger.live(real("5-0"));
    merger.live(real("6-0"));
    expect(out).toEqual([]);
    merger.start("5-0");
    merger.live(real("7-0"));
    expect(out).toEqual(["live:6-0", "live:7-0"]);
    expect(reads).toEqual([]);
  });

  it("resume: replays page by page while live messages wait, then flushes them without duplicates", () => {
    const { merger, out, reads } = setup("1-0");
    merger.start("0");
    expect(reads).toEqual(["1-0"]);
    expect(merger.buffering).toBe(true);
    merger.live(real("3-0"));
    merger.live(real("4-0"));
    expect(merger.pendingBytes).toBeGreaterThan(0);
    merger.page(page(["2-0", "3-0"], true));
    expect(reads).toEqual(["1-0", "3-0"]);
    merger.page(page(["4-0"]));
    expect(out).toEqual(["replay:2-0", "replay:3-0", "replay:4-0"]);
    expect(merger.buffering).toBe(false);
    expect(merger.pendingBytes).toBe(0);
    merger.live(real("4-0")); // late copy of the racing publish
    merger.live(real("5-0"));
    expect(out.slice(3)).toEqual(["live:5-0"]);
  });

  it("signals a gap when the resume position is gone, then delivers everything retained", () => {
    const { merger, out } = setup("1-0");
    merger.start("0");
    merger.page({ ...page(["7-0", "8-0"]), truncated: true });
    expect(out).toEqual(["gap:1-0", "replay:7-0", "replay:8-0"]);
  });

  it("passes id-less (hand-published) messages through in arrival order", () => {
    const { merger, out } = setup("1-0");
    merger.start("0");
    merger.live(handPublished("hi"));
    merger.page(page(["2-0"]));
    merger.live(handPublished("again"));
    expect(out).toEqual(["replay:2-0", "live:hi", "live:again"]);
  });

  it("after a subscriber reconnect, backfills from the last live id the log confirms", () => {
    const { merger, out, reads } = setup();
    merger.start("1-0");
    merger.live(real("2-0"));
    merger.live(real("3-0"));
    merger.lost();
    merger.live(real("6-0")); // arrives after the reconnect, before the backfill
    merger.restored();
    expect(reads).toEqual(["3-0"]);
    merger.page(page(["4-0", "5-0", "6-0"], false, { anchor: real("3-0").json }));
    expect(out).toEqual(["live:2-0", "live:3-0", "replay:4-0", "replay:5-0", "replay:6-0"]);
    merger.live(real("7-0"));
    expect(out.at(-1)).toBe("live:7-0");
  });

  it("a replay that ends while the subscriber is down stays buffered until restored, then backfills", () => {
    // Found by the property test: lost during the first read, an event published in the gap, the
    // next one arrives live before restored(); going live at the page's end skipped the first.
    const { merger, out, reads } = setup("0");
    merger.start("0");
    merger.lost();
    merger.page(page([]));
    expect(merger.buffering).toBe(true);
    merger.live(real("2-0"));
    expect(out).toEqual([]);
    merger.restored();
    expect(reads).toEqual(["0", "0"]);
    merger.page(page(["1-0", "2-0"]));
    expect(out).toEqual(["replay:1-0", "replay:2-0"]);
    expect(merger.buffering).toBe(false);
  });

  it("reads once more when the subscription is restored again during a backfill", () => {
    const { merger, reads } = setup();
    merger.start("1-0");
    merger.restored();
    merger.restored();
    expect(reads).toEqual(["1-0"]);
    merger.page(page(["2-0"]));
    expect(reads).toEqual(["1-0", "2-0"]);
    merger.page(page([]));
    expect(merger.buffering).toBe(false);
  });

  it("a forged future id never becomes the de-duplication floor: later real events all arrive", () => {
    const { merger, out } = setup();
    merger.start("1-0");
    merger.live(handPublished("forged", "9999999999999-0"));
    merger.live(real("2-0"));
    merger.live(real("3-0"));
    expect(out).toEqual(["live:9999999999999-0", "live:2-0", "live:3-0"]);
  });

  it("a forged id is not trusted as a backfill start: the log does not hold it, the next candidate is used", () => {
    const { merger, out, reads } = setup();
    merger.start("1-0");
    merger.live(real("2-0"));
    merger.live(handPublished("forged", "9999999999999-0"));
    merger.lost();
    merger.restored();
    expect(reads).toEqual(["9999999999999-0"]);
    merger.page({ entries: [], truncated: true, more: false });
    expect(reads).toEqual(["9999999999999-0", "2-0"]);
    merger.page(page(["3-0", "4-0"], false, { anchor: real("2-0").json }));
    expect(out).toEqual(["live:2-0", "live:9999999999999-0", "replay:3-0", "replay:4-0"]);
  });

  it("a forged copy of a real id with other bytes is not trusted either (the anchor differs)", () => {
    const { merger, out, reads } = setup();
    merger.start("1-0");
    merger.live(real("2-0"));
    merger.live(handPublished("edited", "5-0")); // 5-0 will be a real id, but with other content
    merger.lost();
    merger.restored();
    merger.page(page(["6-0"], false, { anchor: real("5-0").json }));
    expect(reads).toEqual(["5-0", "2-0"]);
    merger.page(page(["3-0", "4-0", "5-0", "6-0"], false, { anchor: real("2-0").json }));
    expect(out).toEqual(["live:2-0", "live:5-0", "replay:3-0", "replay:4-0", "replay:5-0", "replay:6-0"]);
  });

  it("drops an exact duplicate (same id, same bytes) delivered live", () => {
    const { merger, out } = setup();
    merger.start("1-0");
    merger.live(real("2-0"));
    merger.live(real("2-0"));
    expect(out).toEqual(["live:2-0"]);
  });

  it("falls back to the log-confirmed position when every recent candidate was forged", () => {
    const { merger, out, reads } = setup(undefined, 2);
    merger.start("1-0");
    merger.live(real("2-0"));
    merger.live(handPublished("a", "9000000000000-0"));
    merger.live(handPublished("b", "9000000000001-0"));
    merger.lost();
    merger.restored();
    merger.page({ entries: [], truncated: true, more: false });
    merger.page({ entries: [], truncated: true, more: false });
    expect(reads).toEqual(["9000000000001-0", "9000000000000-0", "1-0"]);
    merger.page(page(["2-0", "3-0"]));
    // 2-0 comes again (a duplicate, never a gap): the only cost of a run of forgeries.
    expect(out.slice(3)).toEqual(["replay:2-0", "replay:3-0"]);
  });
});
