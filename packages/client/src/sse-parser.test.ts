import { createParser } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSseParser, type ParsedSseEvent } from "./sse-parser.js";

function parse(chunks: string[]) {
  const out: (ParsedSseEvent | { position: string } | { retry: number })[] = [];
  const parser = createSseParser({
    onEvent: (m) => out.push(m),
    onPosition: (id) => out.push({ position: id }),
    onRetry: (ms) => out.push({ retry: ms }),
  });
  for (const chunk of chunks) parser.feed(chunk);
  return out;
}

describe("createSseParser", () => {
  it("dispatches events with their id, name and data lines", () => {
    expect(
      parse(["retry: 1000\n\nid: 1-0\nevent: token\ndata: a\ndata: b\n\n: keepalive\n\ndata: x\n\n"]),
    ).toEqual([
      { retry: 1000 },
      { id: "1-0", event: "token", data: "a\nb" },
      { id: undefined, event: undefined, data: "x" },
    ]);
  });

  it("reports an id-only frame as a position, not an event (the gateway's live-only start)", () => {
    expect(parse(["id: 1700000000000-4\n\n", "id: 1700000000000-5\nevent: token\ndata: {}\n\n"])).toEqual([
      { position: "1700000000000-4" },
      { id: "1700000000000-5", event: "token", data: "{}" },
    ]);
  });

  it("takes CRLF, CR and LF line ends, split anywhere, even between a CR and its LF", () => {
    const stream = "id: 1-0\r\nevent: e\rdata: one\r\n\r\nid: 2-0\r\n\r";
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)])).toEqual([
        { id: "1-0", event: "e", data: "one" },
        { position: "2-0" },
      ]);
    }
  });

  it("drops a leading BOM, an id with NUL, an invalid retry, unknown fields and an event with no data", () => {
    expect(parse(["\uFEFFid: a\0b\nretry: soon\nfoo: bar\nevent: x\n\ndata\n\n"])).toEqual([
      { id: undefined, event: undefined, data: "" },
    ]);
  });

  it("dispatches exactly what eventsource-parser dispatches, however the stream is cut", () => {
    const line = fc.oneof(
      fc.constantFrom(
        "",
        ":",
        ": c",
        "data",
        "data:",
        "data: x",
        "data:y",
        "event: token",
        "event:",
        "id: 1-0",
      ),
      fc.constantFrom("id:", "id: 7-7", "retry: 5", "retry: x", "field: v", "id: a\0b", "data: a:b"),
      fc.string({ maxLength: 6 }).map((s) => s.replace(/[\r\n]/g, "")),
    );
    const stream = fc
      .tuple(fc.array(line, { maxLength: 25 }), fc.constantFrom("\n", "\r\n", "\r"))
      .map(([lines, end]) => `${lines.join(end)}${end}${end}`);
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 4 }), (text, cutsRaw) => {
        const cuts = [...new Set(cutsRaw.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        // The trailing comment line lets eventsource-parser take a CR that ends the
        // input as a line end: it waits for more, where the spec (and ours) ends the line at once.
        const chunks = [...[0, ...cuts].map((from, i) => text.slice(from, cuts[i] ?? text.length)), ":\n"];
        const reference: ParsedSseEvent[] = [];
        const theirs = createParser({
          onEvent: (m) => reference.push({ id: m.id, event: m.event, data: m.data }),
        });
        for (const chunk of chunks) theirs.feed(chunk);
        const ours = parse(chunks).filter((m): m is ParsedSseEvent => "data" in m);
        expect(ours).toEqual(reference);
      }),
      { numRuns: 2_000 },
    );
  });
});
