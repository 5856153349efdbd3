import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ERROR_CODES } from "@threadline/protocol";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const CATALOG = "packages/protocol/src/error-catalog.ts";
const SOURCE = /\.(ts|tsx|mjs|lua)$/;

/** Production sources: tests and test support may spell codes out (they assert the wire). */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["node_modules", "dist", "test-support"].includes(entry.name) ? [] : sources(path);
    }
    return SOURCE.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
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
    const files = [...roots("packages"), ...roots("services"), "scripts"].flatMap(sources);
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
});
