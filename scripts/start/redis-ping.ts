import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export type PingResult = { ok: true } | { ok: false; reason: string };

/**
 * PINGs the Redis at `url` over a raw socket (AUTH first when the URL has credentials). No client
 * library and no retries: this only asks "does something answer there right now?".
 */
export function pingRedis(url: string, timeoutMs = 1_000): Promise<PingResult> {
  const parsed = new URL(url);
  const port = Number(parsed.port || 6379);
  const host = parsed.hostname || "127.0.0.1";
  const commands: string[][] = [];
  if (parsed.password) {
    const user = decodeURIComponent(parsed.username);
    commands.push(
      user
        ? ["AUTH", user, decodeURIComponent(parsed.password)]
        : ["AUTH", decodeURIComponent(parsed.password)],
    );
  }
  commands.push(["PING"]);
  return new Promise((resolve) => {
    const socket: Socket =
      parsed.protocol === "rediss:"
        ? tlsConnect({ host, port, servername: host })
        : netConnect({ host, port });
    let buffer = "";
    const finish = (result: PingResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once(parsed.protocol === "rediss:" ? "secureConnect" : "connect", () => {
      socket.write(commands.map(encode).join(""));
    });
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split("\r\n").filter(Boolean);
      const error = lines.find((l) => l.startsWith("-"));
      if (error) return finish({ ok: false, reason: `Redis answered ${error.slice(1)}` });
      if (lines.includes("+PONG")) finish({ ok: true });
    });
    socket.once("error", (error) => finish({ ok: false, reason: error.message }));
  });
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}
