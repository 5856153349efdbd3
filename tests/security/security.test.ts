import { afterAll, beforeAll } from "vitest";
import { describeFuzz } from "./fuzz.js";
import { describeJwtMatrix } from "./jwt-matrix.js";
import { describeRateLimit } from "./rate-limit.js";
import { describeSecretsInLogs } from "./secrets-in-logs.js";
import { type SecurityStack, startSecurityStack } from "./support/security-stack.js";

// One set of real processes (gateway HS256, gateway RS256, two APIs, a worker) for the whole
// security suite: starting them is most of the cost on a 2-core box. The secrets check runs last,
// over everything the services logged during the other suites.
let stack: SecurityStack | undefined;
const getStack = () => {
  if (!stack) throw new Error("the security stack did not start");
  return stack;
};

beforeAll(async () => {
  stack = await startSecurityStack();
}, 180_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

describeJwtMatrix(getStack);
describeFuzz(getStack);
describeRateLimit(getStack);
describeSecretsInLogs(getStack);
