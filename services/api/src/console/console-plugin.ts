import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

export interface ConsolePluginOptions {
  /** The console's build output; default `packages/console/dist` of this repository. */
  dir?: string;
  /** Written into the page so the console knows where the SSE gateway is (GATEWAY_PUBLIC_URL). */
  gatewayUrl?: string;
}

// src/console/ and dist/console/ are both four levels below the repository root.
const DEFAULT_DIR = fileURLToPath(new URL("../../../../packages/console/dist/", import.meta.url));
const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};
const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;
const GATEWAY_META = /<meta name="threadline-gateway-url" content="[^"]*"\s*\/?>/;

/**
 * Serves the web console (packages/console, built with Vite) at `/`. Files are read per request, so
 * building the console while the API runs needs no restart; without a build, `/` says how to make one.
 */
export async function consolePlugin(app: FastifyInstance, options: ConsolePluginOptions): Promise<void> {
  const dir = options.dir ?? DEFAULT_DIR;
  const hide = { schema: { hide: true }, logLevel: "warn" as const };

  app.get("/", hide, async (_request, reply) => {
    const html = await readFile(join(dir, "index.html"), "utf8").catch(() => undefined);
    reply.header("cache-control", "no-cache");
    if (html === undefined) return reply.code(503).type("text/html; charset=utf-8").send(NOT_BUILT);
    const meta = `<meta name="threadline-gateway-url" content="${escapeAttribute(options.gatewayUrl ?? "")}" />`;
    return reply.type("text/html; charset=utf-8").send(html.replace(GATEWAY_META, meta));
  });
  // Vite names assets by content hash: they never change under one name.
  app.get<{ Params: { file: string } }>("/assets/:file", hide, (request, reply) =>
    sendFile(reply, dir, join("assets", request.params.file), "public, max-age=31536000, immutable"),
  );
  app.get("/favicon.svg", hide, (_request, reply) =>
    sendFile(reply, dir, "favicon.svg", "public, max-age=3600"),
  );
}

async function sendFile(reply: FastifyReply, dir: string, path: string, cacheControl: string) {
  const name = path.split("/").at(-1) ?? "";
  const type = TYPES[extname(name)];
  const body =
    SAFE_NAME.test(name) && type ? await readFile(join(dir, path)).catch(() => undefined) : undefined;
  if (body === undefined) return reply.callNotFound();
  return reply
    .header("cache-control", cacheControl)
    .type(type as string)
    .send(body);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Threadline console: not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The Threadline console is not built yet</h1>
<p>Run <code>pnpm build</code> in the repository (or <code>pnpm --filter @threadline/console build</code>),
then reload this page. <code>pnpm start</code> builds it for you.</p>
<p>The API itself is up: see <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`;
