import { describe, expect, it } from "vitest";
import { decodeVector, encodeVector, vectorTag } from "./position-vector.js";

describe("position vector", () => {
  const threads = ["a", "b", "c"];
  const tag = vectorTag(threads);

  it("round-trips log ids, the log start and large sequences exactly", () => {
    const positions = ["1700000000000-0", "0", "1700000000123-18446744073709551615"];
    const encoded = encodeVector(tag, positions);
    expect(encoded).toMatch(/^m1\.[0-9a-f]{8}\.[0-9a-z]+\.0\.[0-9a-z]+-18446744073709551615$/);
    expect(decodeVector(encoded, threads)).toEqual({ ok: true, positions });
  });

  it("carries a live-only thread as an empty position", () => {
    const encoded = encodeVector(tag, ["1700000000000-0", undefined, "0"]);
    expect(encoded).toBe(`m1.${tag}.loyw3v28..0`);
    expect(decodeVector(encoded, threads)).toEqual({
      ok: true,
      positions: ["1700000000000-0", undefined, "0"],
    });
    expect(decodeVector(`m1.${tag}...`, threads)).toEqual({
      ok: true,
      positions: [undefined, undefined, undefined],
    });
  });

  it("is compact: 100 positions fit in about 1 KiB", () => {
    const many = Array.from({ length: 100 }, (_, i) => `thread-${i}`);
    const encoded = encodeVector(
      vectorTag(many),
      many.map((_, i) => `${1_790_000_000_000 + i}-${i % 3}`),
    );
    expect(encoded.length).toBeLessThan(1100);
  });

  it("refuses a vector for another thread list, order or count, and malformed entries", () => {
    const encoded = encodeVector(tag, ["1-0", "2-0", "3-0"]);
    expect(decodeVector(encoded, ["a", "c", "b"])).toMatchObject({ ok: false, reason: /different/ });
    expect(decodeVector(`m1.${tag}.1.2`, threads)).toMatchObject({ ok: false, reason: /2 positions for 3/ });
    expect(decodeVector(`m1.${tag}.1.2.X`, threads)).toMatchObject({ ok: false, reason: /not a position/ });
    expect(decodeVector(`m1.${tag}.1.2.zzzzzzzzzzz`, threads)).toMatchObject({ ok: false });
    expect(decodeVector("1700000000000-0", threads)).toMatchObject({ ok: false, reason: /starts with/ });
  });
});

describe("the documented example (docs/ARCHITECTURE.md)", () => {
  it("encodes threads=a,b,c as written there", () => {
    const example = "m1.205830ca.mi3etw5c.0.mi3etw5c-2";
    expect(encodeVector(vectorTag(["a", "b", "c"]), ["1763400000000-0", "0", "1763400000000-2"])).toBe(
      example,
    );
  });
});
