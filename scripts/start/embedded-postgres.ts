import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { pickPort } from "./free-port.js";
import { keepExtendedQueriesTogether } from "./pglite-sync-queue.js";

export interface EmbeddedPostgres {
  /** postgres:// URL every service connects to, like any PostgreSQL server. */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WASM) with its data in `dir`, served over the PostgreSQL wire
 * protocol on 127.0.0.1, so the services connect exactly as they do to a real server. PGlite runs
 * one query at a time; the socket server queues connections' queries (and keeps a transaction's
 * statements together; pglite-sync-queue.ts also keeps each query's messages together). `maxConnections` must be set: its default of 1 makes a second client hang.
 */
export async function startEmbeddedPostgres(dir: string, port?: number): Promise<EmbeddedPostgres> {
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir });
  const listen = port ?? (await pickPort(5433));
  const server = new PGLiteSocketServer({ db, port: listen, host: "127.0.0.1", maxConnections: 20 });
  keepExtendedQueriesTogether(server, db);
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${listen}/postgres`,
    dir,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
