import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Workspace folders (e.g. `services/api`, `packages/redis`) that `roots` need, following `workspace:`
 * dependencies and devDependencies, as turbo's `^build` does.
 */
export function workspaceClosure(repo: string, roots: string[]): string[] {
  const byName = new Map<string, string>();
  for (const group of ["packages", "services"]) {
    for (const entry of readdirSync(join(repo, group), { withFileTypes: true })) {
      const manifest = join(repo, group, entry.name, "package.json");
      if (entry.isDirectory() && existsSync(manifest))
        byName.set(readManifest(manifest).name, `${group}/${entry.name}`);
    }
  }
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = readManifest(join(repo, dir, "package.json"));
    for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
      const depDir = byName.get(name);
      if (depDir && range.startsWith("workspace:")) visit(depDir);
    }
  };
  roots.forEach(visit);
  return [...seen];
}

/**
 * Folders whose `dist` is missing or older than their sources (src/, package.json, tsconfig*.json).
 * Test files are ignored: they are not built.
 */
export function staleBuilds(repo: string, dirs: string[]): string[] {
  return dirs.filter((dir) => {
    const dist = join(repo, dir, "dist");
    if (!existsSync(dist)) return true;
    const built = newest(dist, () => true);
    const sources = Math.max(
      newest(join(repo, dir, "src"), (name) => !/\.test\.tsx?$/.test(name)),
      ...readdirSync(join(repo, dir))
        .filter((name) => name === "package.json" || /^tsconfig.*\.json$/.test(name))
        .map((name) => statSync(join(repo, dir, name)).mtimeMs),
    );
    return sources > built;
  });
}

function newest(dir: string, include: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !include(entry.name)) continue;
    latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readManifest(path: string): Manifest {
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}
