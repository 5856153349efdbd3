import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ERRORS, errorBody } from "@threadline/protocol";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Throws (or rejects) when the worker cannot take jobs: Redis unreachable or shutting down. */
  checkReady(): Promise<void>;
  log: Logger;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's only HTTP surface: `/healthz` (process up), `/readyz` (Redis answers and the worker
 * takes jobs), `/metrics` (Prometheus). Errors use the JSON shape of every other service.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      return json(ERRORS.METHOD_NOT_ALLOWED.status, errorBody(ERRORS.METHOD_NOT_ALLOWED));
    }
    if (path === "/healthz") return json(200, { status: "ok" });
    if (path === "/readyz") {
      options.checkReady().then(
        () => json(200, { status: "ready" }),
        (error: Error) => json(ERRORS.NOT_READY.status, errorBody(ERRORS.NOT_READY, error.message)),
      );
      return;
    }
    if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": options.registry.contentType });
          res.end(text);
        },
        (error: Error) => {
          options.log.error({ err: error }, "metrics collection failed");
          json(
            ERRORS.INTERNAL.status,
            errorBody(ERRORS.INTERNAL, "metrics collection failed; see the worker log"),
          );
        },
      );
      return;
    }
    return json(ERRORS.NOT_FOUND.status, errorBody(ERRORS.NOT_FOUND, `no route for ${req.method} ${path}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
