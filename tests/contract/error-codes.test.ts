import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ERROR_CODES, ERRORS } from "@threadline/protocol";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const CATALOG = "packages/protocol/src/error-catalog.ts";
const SOURCE = /\.(ts|tsx|mjs)$/;

/** Production sources: tests and test support may spell codes out (they assert the wire). */
function sources(dir: string, pattern: RegExp = SOURCE): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["node_modules", "dist", "test-support"].includes(entry.name) ? [] : sources(path, pattern);
    }
    return pattern.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

function roots(group: string): string[] {
  return readdirSync(join(ROOT, group), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `${group}/${d.name}/src`)
    .filter((dir) => existsSync(join(ROOT, dir)));
}

/** A line without its comment (docs may name codes; code may not). */
function code(line: string): string {
  const trimmed = line.trimStart();
  if (/^(\*|\/\*|\/\/|--)/.test(trimmed)) return "";
  return line.replace(/\s\/\/ .*$/, "").replace(/\s-- .*$/, "");
}

describe("the error catalog is the only place that spells an error code", () => {
  it("no production source outside packages/protocol/src/error-catalog.ts has a code as a string literal", () => {
    const quoted = new RegExp(`(["'\`])(${ERROR_CODES.join("|")})\\1`, "g");
    const files = [...roots("packages"), ...roots("services"), "scripts"].flatMap((dir) => sources(dir));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files
      .filter((file) => relative(ROOT, join(ROOT, file)) !== CATALOG)
      .flatMap((file) =>
        readFileSync(join(ROOT, file), "utf8")
          .split("\n")
          .flatMap((line, i) => [...code(line).matchAll(quoted)].map((m) => `${file}:${i + 1} ${m[2]}`)),
      );
    expect(offenders).toEqual([]);
  });

  it("the Lua scripts (which cannot import it) refuse only with codes the catalog has", () => {
    const lua = sources("packages/redis/src", /\.lua$/);
    expect(lua.length).toBeGreaterThan(0);
    const used = lua.flatMap((file) =>
      [...readFileSync(join(ROOT, file), "utf8").matchAll(/error_reply\("([A-Z][A-Z_]+)/g)].map((m) => m[1]),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((code) => !(ERROR_CODES as readonly string[]).includes(code ?? ""))).toEqual([]);
    expect(ERRORS.STALE_ATTEMPT.channels).toEqual(["publish"]);
  });
});
