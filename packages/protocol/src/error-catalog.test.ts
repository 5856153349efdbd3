import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERRORS, ErrorCode, errorBody, STREAM_ERROR_CODES } from "./error-catalog.js";

describe("the error catalog", () => {
  it("keys every entry by its own code, in SCREAMING_SNAKE_CASE", () => {
    for (const code of ERROR_CODES) {
      expect(ERRORS[code].code).toBe(code);
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(ERRORS[code].message.length).toBeGreaterThan(5);
    }
  });

  it("gives every HTTP code an error status, and no other code one", () => {
    for (const code of ERROR_CODES) {
      const spec: { status?: number; channels: readonly string[] } = ERRORS[code];
      if (spec.channels.includes("http")) expect(spec.status).toBeGreaterThanOrEqual(400);
      else expect(spec.status).toBeUndefined();
    }
  });

  it("answers /readyz with one code on every service", () => {
    expect(ERRORS.NOT_READY).toMatchObject({ status: 503, retryable: true });
  });

  it("lists every in-band stream code, REPLAY_FAILED included", () => {
    expect(Object.values(STREAM_ERROR_CODES).sort()).toEqual(
      ERROR_CODES.filter((c) => (ERRORS[c].channels as readonly string[]).includes("stream")).sort(),
    );
    expect(STREAM_ERROR_CODES.replayFailed).toBe("REPLAY_FAILED");
    expect(ERRORS.REPLAY_FAILED.retryable).toBe(true);
  });

  it("builds error bodies and validates codes", () => {
    expect(errorBody(ERRORS.NOT_FOUND, "no route for GET /x")).toEqual({
      error: { code: "NOT_FOUND", message: "no route for GET /x" },
    });
    expect(errorBody(ERRORS.RUN_FINISHED, undefined, { status: "completed" })).toEqual({
      error: { code: "RUN_FINISHED", message: ERRORS.RUN_FINISHED.message, details: { status: "completed" } },
    });
    expect(ErrorCode.safeParse("NOT_READY").success).toBe(true);
    expect(ErrorCode.safeParse("NOT_A_CODE").success).toBe(false);
  });
});
