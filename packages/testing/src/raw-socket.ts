import { connect, type Socket } from "node:net";

/** A plain TCP connection to a test server, recording what it receives and when it closes. */
export interface RawSocket {
  socket: Socket;
  /** Everything the server sent, as text. */
  received(): string;
  closed(): boolean;
  /** Writes `bytes` one at a time, `everyMs` apart, until the socket closes or `stop()`. */
  dribble(bytes: string, everyMs: number): { stop(): void };
  close(): void;
}

/** Opens a TCP connection to `127.0.0.1:port`; `first` is written at once when given. */
export function openRawSocket(port: number, first?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let isClosed = false;
    const timers = new Set<NodeJS.Timeout>();
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    // A reset from the server is one of the outcomes the tests look at, not a failure.
    socket.on("error", () => {});
    socket.once("close", () => {
      isClosed = true;
      for (const timer of timers) clearInterval(timer);
    });
    socket.once("connect", () => {
      if (first) socket.write(first);
      resolve({
        socket,
        received: () => text,
        closed: () => isClosed,
        dribble(bytes, everyMs) {
          let i = 0;
          const timer = setInterval(() => {
            if (isClosed || i >= bytes.length) return clearInterval(timer);
            socket.write(bytes[i++] ?? "");
          }, everyMs);
          timers.add(timer);
          return { stop: () => clearInterval(timer) };
        },
        close: () => socket.destroy(),
      });
    });
    socket.once("error", reject);
  });
}
