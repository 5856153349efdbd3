import { HttpError } from "@threadline/server";
import { describe, expect, it } from "vitest";
import { createAdmission } from "./admission.js";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as HttpError;
  }
  throw new Error("expected a refusal");
};

describe("admission", () => {
  it("refuses past the per-subject limit with 429 and past the instance limit with 503, both with Retry-After", () => {
    const admission = createAdmission({ maxConnections: 3, maxStreamsPerSubject: 2, retryAfterSeconds: 7 });
    const a1 = admission.acquire("a");
    admission.acquire("a");
    const tooMany = refusal(() => admission.acquire("a"));
    expect(tooMany).toBeInstanceOf(HttpError);
    expect([tooMany.statusCode, tooMany.code, tooMany.headers["retry-after"]]).toEqual([
      429,
      "TOO_MANY_STREAMS",
      "7",
    ]);
    admission.acquire("b");
    const full = refusal(() => admission.acquire("c"));
    expect([full.statusCode, full.code, full.headers["retry-after"]]).toEqual([
      503,
      "TOO_MANY_CONNECTIONS",
      "7",
    ]);
    expect(admission.open).toBe(3);
    a1.release();
    a1.release();
    expect(admission.open).toBe(2);
    expect(() => admission.acquire("a")).not.toThrow();
  });
});
