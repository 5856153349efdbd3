import { z } from "zod";

/** How deep a caller's free-form JSON (`input`, `metadata`) may nest; real payloads stay far below. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON value, walked with an explicit stack and stopping past `limit`, so a
 * hostile 20,000-level object costs `limit` steps and never overflows the call stack (as
 * `JSON.stringify` of it later would).
 */
export function jsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** A JSON object whose nesting is bounded by `MAX_JSON_DEPTH`. */
export function boundedJsonObject() {
  return z.record(z.string(), z.unknown()).refine((value) => jsonDepth(value) <= MAX_JSON_DEPTH, {
    message: `nests deeper than ${MAX_JSON_DEPTH} levels; flatten it`,
    abort: true,
  });
}
