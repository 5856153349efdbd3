/**
 * The floor: the least an SSE server over Redis pub/sub can do. GET /sub/<thread> subscribes to
 * `thread:<thread>` and writes each message as `data:`. FLOOR_MODE=dedicated opens one subscriber
 * per client (floor A); shared multiplexes every client over one (floor B).
 */
import http from "node:http";
import { Redis } from "ioredis";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const shared = process.env.FLOOR_MODE === "shared" ? new Redis(url) : undefined;
const clients = new Map<string, Set<http.ServerResponse>>();
shared?.on("message", (channel: string, message: string) => {
  for (const res of clients.get(channel) ?? []) res.write(`data: ${message}\n\n`);
});

http
  .createServer(async (req, res) => {
    const thread = /^\/sub\/([\w-]+)$/.exec(req.url ?? "")?.[1];
    if (!thread) return res.writeHead(req.url === "/healthz" ? 200 : 404).end();
    const channel = `thread:${thread}`;
    const sub = shared ?? new Redis(url);
    if (shared) {
      if (!clients.has(channel)) clients.set(channel, new Set());
      await shared.subscribe(channel); // ioredis resolves at once for a channel it already has
      clients.get(channel)?.add(res);
    } else {
      sub.on("message", (_: string, message: string) => res.write(`data: ${message}\n\n`));
      await sub.subscribe(channel);
    }
    res
      .writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      .write(": ok\n\n");
    req.on("close", () => (shared ? clients.get(channel)?.delete(res) : sub.disconnect()));
  })
  .listen(Number(process.env.PORT ?? 3101), "127.0.0.1");
// Exit normally on the bench's SIGTERM, so `--cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0));
