import type { Palette } from "./log-lines.js";

export interface BannerInput {
  apiUrl: string;
  /** The web console (signed in with the dev token), when this checkout has one. */
  consoleUrl?: string;
  gatewayUrl: string;
  workerUrl: string;
  redis: string;
  /** Where the archive lives (the PostgreSQL server, the embedded one, or off). */
  archive?: string;
  token: string;
  tokenHours: number;
}

/** The one command a new user pastes: create a demo run on a fresh thread, then stream it to its end. */
export function demoCurl({
  apiUrl,
  gatewayUrl,
  token,
}: Pick<BannerInput, "apiUrl" | "gatewayUrl" | "token">): string {
  const auth = `-H "Authorization: Bearer ${token}"`;
  const body = `'{"input":{"prompt":"Count the words of this sentence and tell me how long it takes to read.","tokensPerSecond":20}}'`;
  return (
    `T=demo-$(date +%s) && ` +
    `curl -sS -X POST ${apiUrl}/v1/threads/$T/runs ${auth} -H "Content-Type: application/json" -d ${body} && echo && ` +
    `curl -sSN ${auth} "${gatewayUrl}/v1/threads/$T/events?after=0&until=done"`
  );
}

/** What `pnpm start` prints once every service is ready. */
export function banner(input: BannerInput, c: Palette): string {
  const row = (label: string, value: string) => `  ${c.bold(label.padEnd(10))} ${value}`;
  return [
    "",
    c.green(c.bold("Threadline is up.")),
    ...(input.consoleUrl ? [row("Console", input.consoleUrl)] : []),
    row("API", `${input.apiUrl}   (OpenAPI: ${input.apiUrl}/openapi.json)`),
    row("Gateway", `${input.gatewayUrl}   (SSE: /v1/threads/<id>/events)`),
    row("Worker", `${input.workerUrl}/metrics`),
    row("Redis", input.redis),
    ...(input.archive ? [row("Archive", input.archive)] : []),
    "",
    `${c.bold("Dev token")} (sub "dev", all threads, valid ${input.tokenHours} h):`,
    input.token,
    "",
    `${c.bold("Stream a demo run")} — paste this into another terminal:`,
    "",
    c.cyan(demoCurl(input)),
    "",
    c.gray("Ctrl-C stops everything."),
    "",
  ].join("\n");
}
