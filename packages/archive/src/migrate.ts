import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Umzug } from "umzug";
import type { ArchiveSql, ArchiveTx } from "./connect.js";

/** `packages/archive/migrations`, next to src/ and dist/ alike. */
const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));
/** Any fixed number: every process that migrates takes this lock first. */
const MIGRATION_LOCK = 7_170_017;

/**
 * Applies the SQL files in `migrations/` that this database has not run yet, in name order, in one
 * transaction under an advisory lock: several services starting at once migrate exactly once, and a
 * failed migration leaves nothing half-applied. Umzug because it is the well-kept, driver-agnostic
 * runner (ordering, bookkeeping, pending/executed) and lets migrations stay plain SQL files.
 * Returns the names it applied.
 */
export async function migrateArchive(sql: ArchiveSql): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists archive_migrations (
      name text primary key, applied_at timestamptz not null default now())`;
    const umzug = new Umzug<ArchiveTx>({
      // A function: Umzug would otherwise call `tx` itself to resolve its context.
      context: () => tx,
      logger: undefined,
      migrations: files.map((name) => ({
        name,
        up: async ({ context }) => {
          await context.file(`${MIGRATIONS_DIR}${name}`);
        },
      })),
      storage: {
        async executed({ context }) {
          const rows = await context`select name from archive_migrations order by name`;
          return rows.map((r) => String(r.name));
        },
        async logMigration({ name, context }) {
          await context`insert into archive_migrations (name) values (${name})`;
        },
        async unlogMigration({ name, context }) {
          await context`delete from archive_migrations where name = ${name}`;
        },
      },
    });
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  });
}
