import { ERRORS } from "@threadline/protocol";
import { PublishRefusedError } from "@threadline/redis";
import { describe, expect, it } from "vitest";
import { untilAccepted } from "./until-accepted.js";

const fast = { minDelayMs: 1, maxDelayMs: 2 };

describe("untilAccepted", () => {
  it("retries a refused write until it is accepted, reporting the first refusal", async () => {
    let tries = 0;
    const reported: number[] = [];
    const value = await untilAccepted(
      async () => {
        if (++tries < 5) throw new Error("OOM command not allowed when used memory > 'maxmemory'.");
        return "in";
      },
      { ...fast, giveUp: () => false, onRetry: (_, n) => reported.push(n) },
    );
    expect(value).toBe("in");
    expect(tries).toBe(5);
    expect(reported).toEqual([1]);
  });

  it("rethrows a refusal by the publish script at once: retrying cannot help", async () => {
    let tries = 0;
    const refusal = new PublishRefusedError(ERRORS.STALE_ATTEMPT.code, "attempt 1 superseded by 2");
    const result = untilAccepted(
      async () => {
        tries++;
        throw refusal;
      },
      { ...fast, giveUp: () => false, onRetry: () => {} },
    );
    await expect(result).rejects.toBe(refusal);
    expect(tries).toBe(1);
  });

  it("stops with the last error once giveUp says so (the job is being handed back)", async () => {
    let tries = 0;
    const result = untilAccepted(
      async () => {
        tries++;
        throw new Error(`refused ${tries}`);
      },
      { ...fast, giveUp: () => tries >= 3, onRetry: () => {} },
    );
    await expect(result).rejects.toThrow("refused 3");
  });
});
