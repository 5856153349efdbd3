/** Scenario sizes for the full run and for `--quick` (under three minutes on two cores). */
import type { StreamScenario } from "./stream-scenario.js";

export interface Plan {
  s1: StreamScenario;
  s2: StreamScenario;
  /**
   * The publish script's ramps stop where Redis + the load client saturate their shared core
   * (~14k script calls/s here): a short ramp is enough to compare the real publish path.
   */
  scriptRates: { s1: number[]; s2: number[] };
  s3Levels: number[];
  s4Runs: number;
  s4TokensPerSecond: number;
  s5Events: number;
}

const common = { clientThreads: 2, p99LimitMs: 50 };

export const FULL: Plan = {
  s1: {
    ...common,
    name: "S1",
    threads: 1000,
    clientsPerThread: 1,
    // Past the floors' ceilings with the raw publisher (the floors pass 40k here).
    rates: [5_000, 10_000, 20_000, 40_000, 60_000, 80_000],
    stepMs: 5_000,
    drainMs: 3_000,
  },
  s2: {
    ...common,
    name: "S2",
    threads: 1,
    clientsPerThread: 1000,
    rates: [10, 20, 50, 100, 200, 400],
    stepMs: 5_000,
    drainMs: 3_000,
  },
  scriptRates: { s1: [5_000, 10_000], s2: [10, 20] },
  // 9,000 shows capacity below a 20,000 open-files hard limit (dedicated needs 2 fds per client).
  s3Levels: [1_000, 5_000, 9_000, 10_000],
  s4Runs: 30,
  s4TokensPerSecond: 100_000,
  s5Events: 100_000,
};

export const QUICK: Plan = {
  s1: { ...FULL.s1, threads: 200, rates: [2_000, 5_000, 10_000, 20_000], stepMs: 1_500, drainMs: 1_500 },
  s2: { ...FULL.s2, clientsPerThread: 200, rates: [20, 50, 100], stepMs: 1_500, drainMs: 1_500 },
  scriptRates: { s1: [2_000, 5_000], s2: [20] },
  s3Levels: [500, 1_000],
  s4Runs: 5,
  s4TokensPerSecond: 100_000,
  s5Events: 20_000,
};
