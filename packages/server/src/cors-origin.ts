/** @fastify/cors `origin` from a `CORS_ORIGINS` allowlist: `*` allows any origin, empty allows none. */
export function corsOrigin(allowlist: string[]): boolean | string[] {
  if (allowlist.includes("*")) return true;
  return allowlist.length > 0 ? allowlist : false;
}
