import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Two house rules checked on the source itself: only entry points read the environment, and no
// module imports itself through others (type-only imports count: they still tie the modules together).
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
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
/** A file's reads of the environment; only files that mention `env` at all are parsed. */
function envReadsOf(file: string): number[] {
  const text = read(file);
  if (!text.includes("env")) return [];
  return envReads(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, scriptKind(file)));
}
const scriptKind = (file: string) =>
  file.endsWith(".tsx") ? ts.ScriptKind.TSX : /\.(mjs|js)$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;

/**
 * The entry points, the only files that may read `process.env` (docs/ARCHITECTURE.md, "reading the
 * environment"): each service's and the CLI's main.ts, a service's test entry points
 * (`services/<name>/src/test-support/*-main.ts`: the service with test-only additions), the tool configs (vitest.config.ts hands
 * TEST_ENV_KEYS to the test kit), and the scripts run as commands: `scripts/*`, `scripts/bench/*`
 * (not its lib/), `scripts/topology/cli.ts`, a package's `scripts/*`. Everything else is handed its config.
 */
const ENTRY_POINTS = [
  /^(services|packages)\/[^/]+\/src\/main\.ts$/,
  /^services\/[^/]+\/src\/test-support\/[^/]+-main\.ts$/,
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

/** `from "…"` of imports and re-exports (type-only included) and `import("…")`: TypeScript's scanner. */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/** `@threadline/x[/sub]` → the source file its `@threadline/source` export condition names. */
function workspaceExports(): Map<string, string> {
  const map = new Map<string, string>();
  for (const group of ["packages", "services"]) {
    for (const dir of readdirSync(join(ROOT, group))) {
      const manifest = join(ROOT, group, dir, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as {
        name: string;
        exports?: Record<string, { "@threadline/source"?: string }>;
      };
      for (const [subpath, conditions] of Object.entries(pkg.exports ?? {})) {
        const target = conditions["@threadline/source"];
        if (target) map.set(posix.join(pkg.name, subpath), posix.join(group, dir, target));
      }
    }
  }
  return map;
}

function resolver(files: Set<string>) {
  const workspace = workspaceExports();
  return (from: string, spec: string): string | undefined => {
    if (!spec.startsWith(".")) return workspace.get(spec);
    const base = posix.join(posix.dirname(from), spec);
    const stem = base.replace(/\.(js|mjs|ts|tsx)$/, "");
    return [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${base}/index.ts`].find((c) => files.has(c));
  };
}

/** The strongly connected components with more than one module (or a module importing itself). */
function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string) => {
    order.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!order.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, order.get(next)!));
    }
    if (low.get(node) !== order.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!order.has(node)) connect(node);
  return cycles;
}

describe("source rules", () => {
  it("no file outside the entry points reads process.env", () => {
    expect(FILES.length).toBeGreaterThan(300);
    const offenders = FILES.filter((file) => !ENTRY_POINTS.some((entry) => entry.test(file))).flatMap(
      (file) => envReadsOf(file).map((line) => `${file}:${line}`),
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

  it("no import cycle between the workspace's modules (type-only imports included)", () => {
    const files = new Set(FILES);
    const resolve = resolver(files);
    const graph = new Map(
      FILES.map((file) => [
        file,
        specifiers(read(file)).flatMap((spec) => {
          const target = resolve(file, spec);
          return target ? [target] : [];
        }),
      ]),
    );
    // The walk must really follow imports: the API's main.ts reaches the protocol package's index.
    expect(graph.get("services/api/src/main.ts")?.length).toBeGreaterThan(2);
    expect([...graph.values()].flat()).toContain("packages/protocol/src/index.ts");
    expect(findCycles(graph)).toEqual([]);
  });

  it("the cycle finder reports a cycle through a type-only import and a self-import", () => {
    expect(
      findCycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", ["c.ts"]],
          ["c.ts", ["a.ts"]],
          ["d.ts", ["d.ts"]],
          ["e.ts", ["a.ts"]],
        ]),
      ),
    ).toEqual([["a.ts", "b.ts", "c.ts"], ["d.ts"]]);
    expect(
      specifiers(
        'import type { T } from "./y.js";\nexport type { U } from "./z.js";\nawait import("./w.js");',
      ),
    ).toEqual(["./y.js", "./z.js", "./w.js"]);
  });
});
