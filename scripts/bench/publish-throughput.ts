/**
 * Publish-script throughput from one process (S5 of `pnpm bench` runs this pinned to the server
 * core). Usage: pnpm bench:publish [--events 50000] [--window 256] [--json]
 */
import { parseArgs } from "node:util";
import { getTestRedis } from "@threadline/testing";
import { measurePublishRates } from "./lib/publish-rate.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    window: { type: "string", default: "256" },
    json: { type: "boolean", default: false },
  },
});
const redis = await getTestRedis(process.env);
try {
  const rates = await measurePublishRates(redis.url, Number(values.events), Number(values.window));
  if (values.json) {
    console.log(JSON.stringify(rates));
  } else {
    console.log(`redis: ${redis.source} (${redis.url})`);
    console.log("| mode | events/s |");
    console.log("|---|---|");
    console.log(`| one at a time (await each) | ${rates.sequentialPerSec} |`);
    console.log(`| pipelined (${rates.window} in flight, 64 threads) | ${rates.pipelinedPerSec} |`);
    console.log(
      `pipelined / one-at-a-time = ${(rates.pipelinedPerSec / rates.sequentialPerSec).toFixed(1)}x`,
    );
  }
} finally {
  await redis.stop();
}
