import postgres from "postgres";
import { type TestEnv, testEnv } from "./test-env.js";
import { uniqueId } from "./unique-id.js";

export interface TestDatabase {
  /** postgres:// URL of a database created for this test run only. */
  url: string;
  /** Drops the database (closing whatever still holds a connection to it). */
  drop(): Promise<void>;
}

/** The server tests use: `TEST_DATABASE_URL`'s, else the machine's (127.0.0.1:5432, user postgres). */
function serverUrl(env: TestEnv): string {
  return env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/**
 * Creates a fresh, uniquely named database on the real PostgreSQL server, so test runs never share
 * rows. Fails loudly when no server answers: a database test never silently skips (`.ci/run`
 * installs and starts PostgreSQL on a fresh machine).
 */
export async function createTestDatabase(env: TestEnv = testEnv()): Promise<TestDatabase> {
  const server = serverUrl(env);
  const admin = postgres(server, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const name = uniqueId("tl_test").replace(/-/g, "_");
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 });
    throw new Error(
      `no PostgreSQL for tests at ${server} (${(error as Error).message}); start one (.ci/run installs it) or set TEST_DATABASE_URL`,
    );
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end({ timeout: 1 });
      }
    },
  };
}
