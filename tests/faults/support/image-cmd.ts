import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ImageCommand {
  /** The runtime stage's WORKDIR with `${SERVICE}` filled in, relative to the image's /app. */
  workdir: string;
  /** The runtime stage's CMD (exec form), as the image runs it. */
  cmd: string[];
  /** The runtime stage's `ENV` (build args filled in). */
  env: Record<string, string>;
}

/**
 * Reads WORKDIR, CMD and ENV of the Dockerfile's last stage for one service, so the signal test runs
 * exactly what the image runs and the two cannot drift. The image copies the repository to /app.
 */
export function imageCommand(repo: string, service: string): ImageCommand {
  const text = readFileSync(join(repo, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const stages = text.split(/^FROM /m);
  const runtime = stages.at(-1) ?? "";
  const fill = (s: string) => s.replace(/\$\{SERVICE\}|\$SERVICE\b/g, service);
  let workdir = "/app";
  let cmd: string[] | undefined;
  const env: Record<string, string> = {};
  for (const line of runtime.split("\n").map((l) => l.trim())) {
    const [instruction, ...rest] = line.split(/\s+/);
    const arg = rest.join(" ");
    if (instruction === "WORKDIR") workdir = fill(arg);
    if (instruction === "CMD") cmd = JSON.parse(arg) as string[];
    if (instruction === "ENV") {
      for (const pair of arg.match(/\S+=\S+/g) ?? []) {
        const [key, value = ""] = pair.split("=");
        if (key) env[key] = fill(value);
      }
    }
  }
  if (!cmd) throw new Error("the Dockerfile's last stage has no CMD in exec form");
  if (!workdir.startsWith("/app"))
    throw new Error(`unexpected WORKDIR ${workdir}: the image copies the repo to /app`);
  return { workdir: workdir.slice("/app".length).replace(/^\//, ""), cmd, env };
}
