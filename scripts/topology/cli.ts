/**
 * Runs the scaled topology on this machine until Ctrl-C: nginx in front of N gateways and M APIs,
 * K workers, standalone Redis or a local 3-master cluster.
 *   pnpm topology [--gateways 2] [--apis 2] [--workers 2] [--cluster] [--redis-url redis://…] [--tls]
 * `--tls`: nginx also serves HTTP/2 over TLS with a self-signed certificate made for this run.
 */
import { parseArgs } from "node:util";
import { signDevToken } from "@threadline/auth";
import { DEV_JWT_SECRET } from "@threadline/config";
import { startTopology } from "./start-topology.js";

const { values } = parseArgs({
  options: {
    gateways: { type: "string", default: "2" },
    apis: { type: "string", default: "2" },
    workers: { type: "string", default: "2" },
    cluster: { type: "boolean", default: false },
    "redis-url": { type: "string" },
    tls: { type: "boolean", default: false },
  },
});
const count = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new Error(`--${name}: expected 1-32, got "${value}"`);
  return n;
};
const redisUrl = values["redis-url"];
const topology = await startTopology({
  gateways: count("gateways", values.gateways),
  apis: count("apis", values.apis),
  workers: count("workers", values.workers),
  ...(values.cluster ? { redis: "cluster" as const } : redisUrl ? { redis: { url: redisUrl } } : {}),
  tls: values.tls,
  env: { LOG_LEVEL: "info" },
  parentEnv: process.env,
});
const token = signDevToken(DEV_JWT_SECRET, { sub: "dev", threads: ["*"], ttlSeconds: 24 * 3600 });
console.log(`nginx:    ${topology.url}`);
if (topology.nginx?.httpsUrl) {
  console.log(`https:   ${topology.nginx.httpsUrl} (HTTP/2; self-signed: ${topology.nginx.certPath})`);
}
for (const s of [...topology.gateways, ...topology.apis, ...topology.workers]) {
  console.log(`${s.name.padEnd(10)}${s.url} (pid ${s.process.pid})`);
}
console.log(`redis:    ${JSON.stringify(topology.redisEnv)}`);
console.log(`\ncurl -s -X POST -H "Authorization: Bearer ${token}" -H 'content-type: application/json' \\
  -d '{"agent":"demo","input":{"prompt":"hello"}}' ${topology.url}/v1/threads/demo/runs
curl -N -H "Authorization: Bearer ${token}" '${topology.url}/v1/threads/demo/events?after=0&until=done'\n`);
const shutdown = async () => {
  await topology.stop();
  process.exit(0);
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
