import postgres, { type Sql, type TransactionSql } from "postgres";

export type ArchiveSql = Sql;
/** The handle inside `sql.begin(…)`. */
export type ArchiveTx = TransactionSql;

export interface ArchiveConnectionOptions {
  /** Shown in `pg_stat_activity.application_name`. */
  name: string;
  /** Pool size (postgres.js opens connections lazily, up to this many). */
  max?: number;
}

/**
 * A postgres.js pool on `DATABASE_URL`. postgres.js because it is small (no dependencies), fast, and
 * its tagged templates make every query parameterised by construction. Notices (e.g. "relation
 * already exists, skipping") are not errors and stay out of the logs.
 */
export function connectArchive(url: string, options: ArchiveConnectionOptions): ArchiveSql {
  return postgres(url, {
    max: options.max ?? 4,
    connection: { application_name: options.name },
    onnotice: () => {},
    // bigint columns (ids, ts) come back as JS numbers: they stay below 2^53.
    types: {
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) },
    },
    idle_timeout: 30,
    connect_timeout: 5,
  });
}

/**
 * Creates the database named in `url` when the server has no such database yet (a fresh local
 * PostgreSQL): connects to the `postgres` maintenance database of the same server to do it.
 */
export async function ensureDatabase(url: string): Promise<"created" | "existed"> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, "")) || "postgres";
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length > 0) return "existed";
    await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`);
    return "created";
  } finally {
    await sql.end({ timeout: 1 });
  }
}
