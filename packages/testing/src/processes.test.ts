import { describe, expect, it } from "vitest";
import { freePort, startProcess } from "./processes.js";

const server = (port: number, readyAfterMs = 0) =>
  `const t0=Date.now();require("node:http").createServer((q,s)=>{s.statusCode=Date.now()-t0>=${readyAfterMs}?200:503;s.end("ok")}).listen(${port},"127.0.0.1",()=>console.log("listening"));`;

describe("startProcess", () => {
  it("waits until the ready URL answers 200, then stops with SIGTERM", async () => {
    const port = await freePort();
    const proc = await startProcess({
      name: "http",
      command: process.execPath,
      args: ["-e", server(port, 300)],
      env: {},
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    expect(proc.alive()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(proc.output()).toContain("listening");
    await proc.stop();
    expect(proc.alive()).toBe(false);
    expect((await proc.exited).signal).toBe("SIGTERM");
  });

  it("rejects with the process's own output when it exits before it is ready", async () => {
    const port = await freePort();
    await expect(
      startProcess({
        name: "broken",
        command: process.execPath,
        args: ["-e", 'console.error("REDIS_URL: expected a redis:// URL"); process.exit(3)'],
        env: {},
        readyUrl: `http://127.0.0.1:${port}/readyz`,
      }),
    ).rejects.toThrow(/broken exited \(code 3\).*REDIS_URL: expected a redis:\/\/ URL/s);
  });

  it("rejects after the timeout when nothing answers, and kills the process", async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      startProcess({
        name: "silent",
        command: process.execPath,
        args: ["-e", "setInterval(() => {}, 1000)"],
        env: {},
        readyUrl: `http://127.0.0.1:${port}/readyz`,
        readyTimeoutMs: 300,
      }),
    ).rejects.toThrow(/silent: .*did not answer 200 within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops the process and rejects when its start is aborted before it is ready", async () => {
    const port = await freePort();
    const starting = new AbortController();
    const start = startProcess({
      name: "aborted",
      command: process.execPath,
      args: ["-e", server(port, 600_000)],
      env: {},
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: 600_000,
      signal: starting.signal,
    });
    await expect
      .poll(() =>
        fetch(`http://127.0.0.1:${port}/`).then(
          (r) => r.status,
          () => 0,
        ),
      )
      .toBe(503);
    starting.abort();
    await expect(start).rejects.toThrow(
      /^aborted: start aborted before http:\/\/127\.0\.0\.1:\d+\/readyz answered/,
    );
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it("reports a command that cannot be run", async () => {
    await expect(
      startProcess({
        name: "missing",
        command: "/nonexistent/binary",
        env: {},
        readyUrl: "http://127.0.0.1:1/",
      }),
    ).rejects.toThrow(/cannot run \/nonexistent\/binary/);
  });

  it("SIGKILL ends a process that ignores SIGTERM", async () => {
    const proc = await startProcess({
      name: "stubborn",
      command: process.execPath,
      args: ["-e", 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")'],
      env: {},
    });
    // Only once it printed "up" has it installed the handler that ignores SIGTERM.
    await expect.poll(() => proc.output(), { timeout: 20_000 }).toContain("up");
    await proc.stop(200);
    expect((await proc.exited).signal).toBe("SIGKILL");
  });
});
