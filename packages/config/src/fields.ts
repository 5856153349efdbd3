import { isIP } from "node:net";
import { z } from "zod";

/**
 * Env field builders. Each reads one optional string and yields a typed value or one issue worded
 * for a human: `expected an integer 1-65535, got "abc"`.
 */
const raw = z.string().optional();
const got = (v: string) => `got ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
const isUnset = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";

export function int(min: number, max: number, fallback: number) {
  return raw.transform((v, ctx) => {
    if (isUnset(v)) return fallback;
    const n = Number(v.trim());
    if (/^-?\d+$/.test(v.trim()) && Number.isSafeInteger(n) && n >= min && n <= max) return n;
    ctx.addIssue({ code: "custom", message: `expected an integer ${min}-${max}, ${got(v)}` });
    return z.NEVER;
  });
}

export function port(fallback: number) {
  return int(1, 65535, fallback);
}

export function bool(fallback: boolean) {
  return raw.transform((v, ctx) => {
    if (isUnset(v)) return fallback;
    const s = v.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off"].includes(s)) return false;
    ctx.addIssue({ code: "custom", message: `expected true/false or 1/0, ${got(v)}` });
    return z.NEVER;
  });
}

/** A yes/no variable that may be left unset: `undefined` then, so the caller picks the default. */
export function optionalBool() {
  return raw.transform((v, ctx) => {
    if (isUnset(v)) return undefined;
    const s = v.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off"].includes(s)) return false;
    ctx.addIssue({ code: "custom", message: `expected true/false or 1/0, ${got(v)}` });
    return z.NEVER;
  });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return raw.transform((v, ctx): T[number] => {
    if (isUnset(v)) return fallback;
    const s = v.trim();
    if ((values as readonly string[]).includes(s)) return s as T[number];
    ctx.addIssue({ code: "custom", message: `expected one of ${values.join(", ")}, ${got(v)}` });
    return z.NEVER;
  });
}

export function text(fallback: string) {
  return raw.transform((v) => (isUnset(v) ? fallback : v.trim()));
}

export function optionalText() {
  return raw.transform((v) => (isUnset(v) ? undefined : v.trim()));
}

/** A comma-separated list; empty entries are ignored. */
export function list(fallback: string[] = []) {
  return raw.transform((v) =>
    isUnset(v)
      ? fallback
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
  );
}

export function url(fallback: string, protocols: string[]) {
  return raw.transform((v, ctx) => {
    const s = isUnset(v) ? fallback : v.trim();
    try {
      const parsed = new URL(s);
      if (protocols.includes(parsed.protocol)) return s;
    } catch {}
    ctx.addIssue({ code: "custom", message: `expected a ${protocols.join(" or ")}// URL, ${got(s)}` });
    return z.NEVER;
  });
}

/** `host:port,host:port` for Redis Cluster seeds. */
export function hostPorts() {
  return raw.transform((v, ctx) => {
    if (isUnset(v)) return undefined;
    const nodes = v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const match = /^(.+):(\d{1,5})$/.exec(entry);
        const p = Number(match?.[2]);
        return match && p >= 1 && p <= 65535 ? { host: match[1]!, port: p } : undefined;
      });
    if (nodes.length > 0 && nodes.every((n) => n !== undefined))
      return nodes as { host: string; port: number }[];
    ctx.addIssue({ code: "custom", message: `expected host:port[,host:port…], ${got(v)}` });
    return z.NEVER;
  });
}

/** proxy-addr's names for address ranges (Fastify's `trustProxy` accepts them besides addresses and CIDRs). */
const PROXY_RANGES = ["loopback", "linklocal", "uniquelocal"];

/**
 * The proxies whose `X-Forwarded-*` headers are believed: a comma list of IP addresses, CIDRs
 * (`10.0.0.0/8`, `fd00::/8`) or the names loopback, linklocal, uniquelocal. Unset: none (`[]`).
 */
export function trustedProxies() {
  return raw.transform((v, ctx) => {
    if (isUnset(v)) return [];
    const entries = v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = entries.filter((entry) => !isProxyEntry(entry));
    if (entries.length > 0 && bad.length === 0) return entries;
    ctx.addIssue({
      code: "custom",
      message: `expected IP addresses, CIDRs (10.0.0.0/8) or ${PROXY_RANGES.join("/")}, comma-separated, ${got(bad.join(",") || v)}`,
    });
    return z.NEVER;
  });
}

function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGES.includes(entry)) return true;
  const [address = "", bits, ...rest] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}
