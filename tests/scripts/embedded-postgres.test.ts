import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectArchive, migrateArchive } from "@threadline/archive";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../scripts/start/embedded-postgres.js";

const dir = mkdtempSync(join(tmpdir(), "threadline-pglite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("embedded PostgreSQL (PGlite over the wire protocol, as pnpm start runs it)", () => {
  it("serves several clients at once: transactions and parameterised queries never mix", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const pools = [1, 2, 3].map((i) => connectArchive(pg.url, { name: `client-${i}` }));
    try {
      // Three services migrating at once, as they do on start.
      const applied = await Promise.all(pools.map((sql) => migrateArchive(sql)));
      expect(applied.flat()).toEqual(["0001_archive.sql"]);
      const wrong: string[] = [];
      await Promise.all(
        pools.flatMap((sql, p) =>
          [0, 1, 2, 3].map(async (w) => {
            for (let i = 0; i < 15; i++) {
              const threadId = `th-${p}-${w}-${i}`;
              await sql.begin(async (tx) => {
                await tx`insert into threads (thread_id, created_at, updated_at) values (${threadId}, now(), now())`;
                await tx`insert into events ${tx([{ thread_id: threadId, id_ms: i, id_n: 0, id: `${i}-0`, type: "token", ts: i, json: `{"i":${i}}` }])}`;
              });
              const rows = await sql`select json from events where thread_id = ${threadId}`;
              if (rows[0]?.json !== `{"i":${i}}`) wrong.push(`${threadId}: ${JSON.stringify(rows)}`);
            }
          }),
        ),
      );
      expect(wrong).toEqual([]);
      expect((await pools[0]!`select count(*)::int as n from events`)[0]?.n).toBe(180);
    } finally {
      await Promise.all(pools.map((sql) => sql.end({ timeout: 1 })));
      await pg.stop();
    }
  });

  it("keeps its data in its directory across restarts", async () => {
    const pg = await startEmbeddedPostgres(dir);
    const sql = connectArchive(pg.url, { name: "restart" });
    try {
      expect(await migrateArchive(sql)).toEqual([]);
      expect((await sql`select count(*)::int as n from threads`)[0]?.n).toBe(180);
    } finally {
      await sql.end({ timeout: 1 });
      await pg.stop();
    }
  });
});
