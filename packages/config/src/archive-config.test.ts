import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./api.js";
import { ConfigError } from "./load-config.js";
import { loadWorkerConfig } from "./worker.js";

const url = "postgres://postgres@127.0.0.1:5432/threadline";

describe("archive config", () => {
  it("is on when DATABASE_URL is set, off without it or with ARCHIVE=off", () => {
    expect(loadApiConfig({}).archive).toBeUndefined();
    expect(loadApiConfig({ DATABASE_URL: url }).archive).toEqual({
      databaseUrl: url,
      retentionDays: 0,
      markIntervalMs: 100,
    });
    expect(loadApiConfig({ DATABASE_URL: url, ARCHIVE: "off" }).archive).toBeUndefined();
    expect(loadWorkerConfig({ ARCHIVE_BATCH_SIZE: "50", ARCHIVE_POLL_MS: "20" }).archiver).toEqual({
      batchSize: 50,
      pollMs: 20,
      sweepMs: 5_000,
    });
    expect(loadWorkerConfig({ ARCHIVE_SWEEP_MS: "0" }).archiver.sweepMs).toBe(0);
  });

  it("refuses ARCHIVE=on without DATABASE_URL, and a DATABASE_URL that is not postgres://", () => {
    expect(() => loadApiConfig({ ARCHIVE: "on" })).toThrow(ConfigError);
    expect(() => loadApiConfig({ ARCHIVE: "on" })).toThrow(/ARCHIVE: on needs DATABASE_URL/);
    expect(() => loadApiConfig({ DATABASE_URL: "mysql://x/y" })).toThrow(
      /DATABASE_URL: expected a postgres:\/\//,
    );
    expect(() => loadApiConfig({ ARCHIVE: "sometimes" })).toThrow(/ARCHIVE: expected one of auto, on, off/);
  });
});
