import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createJunkReporter } from "./junk-reporter.js";
import { createGatewayMetrics } from "./metrics.js";

describe("junk reporter", () => {
  it("logs one truncated warn line and counts once per message, however many subscribers saw it", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const metrics = createGatewayMetrics();
    let now = 1_000;
    const junk = createJunkReporter(pino(sink), metrics, 1_000, () => now);
    const big = Buffer.from(`not json ${"z".repeat(10_000)}`);
    for (let i = 0; i < 5; i++) junk.report("t1", big, "not_json", big.toString());
    junk.report("t2", big, "not_json", big.toString());
    now += 1_001;
    junk.report("t1", big, "not_json", big.toString());
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 40, threadId: "t1", reason: "not_json", bytes: big.length });
    expect(String(lines[0]!.sample).length).toBeLessThan(120);
    expect(String(lines[0]!.detail).length).toBeLessThan(260);
    expect(
      await metrics.registry.getSingleMetricAsString("threadline_gateway_invalid_messages_dropped_total"),
    ).toContain('reason="not_json"} 3');
  });
});
