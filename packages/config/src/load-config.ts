import type { z } from "zod";

/** Thrown when the environment is invalid: one line per bad variable, ready to print. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(`invalid configuration:\n${lines.map((l) => `  ${l}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type Env = Record<string, string | undefined>;

/** Parses `env` with a zod object whose keys are variable names; throws ConfigError listing every problem. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(env)"}: ${issue.message}`),
  );
}
