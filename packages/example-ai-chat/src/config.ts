/** What the page needs, served as /config.json by scripts/serve-example.ts (never baked into the build). */
export interface ExampleConfig {
  apiUrl: string;
  gatewayUrl: string;
  /** A JWT that may create runs and read threads (a dev token from the start script). */
  token: string;
  /** The agent runs use: `demo` without a provider key, else `anthropic` or `openai`. */
  agent: string;
}

export async function loadConfig(): Promise<ExampleConfig> {
  const res = await fetch("/config.json");
  if (!res.ok)
    throw new Error(`GET /config.json answered ${res.status}: start the example with its start script`);
  const body = (await res.json()) as Partial<ExampleConfig>;
  for (const key of ["apiUrl", "gatewayUrl", "token", "agent"] as const) {
    if (typeof body[key] !== "string" || body[key] === "") throw new Error(`config.json lacks "${key}"`);
  }
  return body as ExampleConfig;
}
