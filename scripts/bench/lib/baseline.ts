/**
 * `--baseline <git ref | checkout dir>`: another version of Threadline to measure in the same run as
 * this one (targets `dedicated@base`, `shared@base`; S4 and S5 too). On a shared machine the load
 * changes from minute to minute, so a before/after comparison is only fair side by side.
 * A git ref is checked out as a temporary worktree with its own `pnpm install --offline`.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface Baseline {
  root: string;
  description: string;
  remove(): Promise<void>;
}

export async function prepareBaseline(repoRoot: string, spec: string, tmpDir: string): Promise<Baseline> {
  if (existsSync(join(spec, "services/gateway/src/main.ts"))) {
    return { root: spec, description: `checkout ${spec}`, remove: async () => {} };
  }
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", `${spec}^{commit}`);
  } catch {
    throw new Error(`--baseline ${spec}: neither a checkout directory nor a git ref in ${repoRoot}`);
  }
  const root = join(tmpDir, "baseline");
  console.log(`baseline: checking out ${spec} (${commit.slice(0, 10)}) into ${root}`);
  git("worktree", "add", "--detach", root, commit);
  try {
    execFileSync("pnpm", ["install", "--frozen-lockfile", "--offline", "--silent"], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    });
  } catch (error) {
    git("worktree", "remove", "--force", root);
    throw new Error(`--baseline ${spec}: pnpm install in the worktree failed: ${(error as Error).message}`);
  }
  return {
    root,
    description: `${spec} = ${commit.slice(0, 10)} (${git("log", "-1", "--format=%s", commit)})`,
    async remove() {
      git("worktree", "remove", "--force", root);
    },
  };
}
