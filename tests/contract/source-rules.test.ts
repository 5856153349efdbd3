import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// House rules checked on the source itself: only entry points read the environment.
const ROOT = join(import.meta.dirname, "../..");
const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;

/** Every source file of the workspace (repo-relative, `/`-separated), without installs and builds. */
function sources(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory())
      return ["node_modules", "dist", ".turbo"].includes(entry.name) ? [] : sources(path);
    return SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

const FILES = [
  ...["packages", "services", "scripts", "tests"].flatMap(sources),
  ...readdirSync(ROOT).filter((name) => SOURCE.test(name)),
];
const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    const text = readFileSync(join(ROOT, file), "utf8");
    source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, scriptKind(file));
    parsed.set(file, source);
  }
  return source;
}
const scriptKind = (file: string) =>
  file.endsWith(".tsx") ? ts.ScriptKind.TSX : /\.(mjs|js)$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;

/**
 * The entry points, the only files that may read `process.env` (docs/ARCHITECTURE.md, "reading the
 * environment"): each service's and the CLI's main.ts, the tool configs (vitest.config.ts hands
 * TEST_ENV_KEYS to the test kit), and the scripts run as commands: `scripts/*`, `scripts/bench/*`
 * (not its lib/), `scripts/topology/cli.ts`, a package's `scripts/*`. Everything else is handed its config.
 */
const ENTRY_POINTS = [
  /^(services|packages)\/[^/]+\/src\/main\.ts$/,
  /^([^/]+\/[^/]+\/)?[^/]+\.config\.ts$/,
  /^scripts\/[^/]+\.(ts|mjs)$/,
  /^scripts\/bench\/[^/]+\.(ts|mjs)$/,
  /^scripts\/topology\/cli\.ts$/,
  /^packages\/[^/]+\/scripts\/[^/]+\.ts$/,
];

/** Lines where a source reads the environment: `process.env`, `process["env"]`, `env` from node:process. */
function envReads(source: ts.SourceFile): number[] {
  const lines: number[] = [];
  const at = (node: ts.Node) =>
    lines.push(source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1);
  const isProcess = (node: ts.Node) =>
    (ts.isIdentifier(node) && node.text === "process") ||
    (ts.isPropertyAccessExpression(node) && node.name.text === "process");
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === "env" && isProcess(node.expression))
      at(node);
    if (
      ts.isElementAccessExpression(node) &&
      isProcess(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === "env"
    )
      at(node);
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      /^(node:)?process$/.test(node.moduleSpecifier.text) &&
      node.importClause?.namedBindings &&
      ts.isNamedImports(node.importClause.namedBindings) &&
      node.importClause.namedBindings.elements.some((e) => (e.propertyName ?? e.name).text === "env")
    )
      at(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

describe("source rules", () => {
  it("no file outside the entry points reads process.env", () => {
    expect(FILES.length).toBeGreaterThan(300);
    const offenders = FILES.filter((file) => !ENTRY_POINTS.some((entry) => entry.test(file))).flatMap(
      (file) => envReads(parse(file)).map((line) => `${file}:${line}`),
    );
    expect(offenders).toEqual([]);
  });

  it("the check sees every way of reading the environment, and not a comment", () => {
    const reads = (text: string) => envReads(ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest));
    expect(reads("const a = process.env.A;")).toEqual([1]);
    expect(reads('\nconst { A } = globalThis.process["env"];')).toEqual([2]);
    expect(reads('import { env } from "node:process";')).toEqual([1]);
    expect(reads("// process.env is read by main.ts only\nconst b = processed.env;")).toEqual([]);
  });
});
