/** What the console needs besides the page itself: where the gateway is, and a token. */
export interface ConsoleSettings {
  gatewayUrl: string;
  token: string;
}

export interface HashParams {
  token?: string;
  thread?: string;
  gateway?: string;
}

const STORAGE_KEY = "threadline.console";

/** Reads `#token=…&thread=…&gateway=…` (the fragment never reaches a server or its logs). */
export function parseHash(hash: string): HashParams {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const out: HashParams = {};
  for (const key of ["token", "thread", "gateway"] as const) {
    const value = params.get(key)?.trim();
    if (value) out[key] = value;
  }
  return out;
}

/** The fragment to keep in the address bar: the open thread only, never the token. */
export function formatHash(thread: string | undefined): string {
  return thread ? `#thread=${encodeURIComponent(thread)}` : "";
}

/**
 * Settings from, in order: the URL fragment, then (gateway) the URL the API put in the page — it knows
 * best, a saved one may be stale — or (token) what this browser saved, then the gateway's default port.
 */
export function loadSettings(
  hash: HashParams,
  stored: Partial<ConsoleSettings>,
  page: PageInfo,
): ConsoleSettings {
  return {
    gatewayUrl: trimSlash(
      hash.gateway ?? (page.gatewayMeta || stored.gatewayUrl || `${page.protocol}//${page.hostname}:3001`),
    ),
    token: hash.token ?? stored.token ?? "",
  };
}

export interface PageInfo {
  gatewayMeta: string;
  protocol: string;
  hostname: string;
}

export function readStoredSettings(storage: Pick<Storage, "getItem">): Partial<ConsoleSettings> {
  try {
    const value: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? "{}");
    if (typeof value !== "object" || value === null) return {};
    const { gatewayUrl, token } = value as Record<string, unknown>;
    return {
      ...(typeof gatewayUrl === "string" && gatewayUrl ? { gatewayUrl } : {}),
      ...(typeof token === "string" && token ? { token } : {}),
    };
  } catch {
    return {};
  }
}

export function storeSettings(storage: Pick<Storage, "setItem">, settings: ConsoleSettings): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(settings));
}

/** The token's claims, decoded without verifying (only to show who and until when). */
export function describeToken(token: string, now: number = Date.now()): string {
  const payload = token.split(".")[1];
  if (!payload) return token ? "not a JWT" : "no token";
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as {
      sub?: unknown;
      exp?: unknown;
    };
    const sub = typeof claims.sub === "string" ? claims.sub : "?";
    if (typeof claims.exp !== "number") return `sub ${sub}`;
    const minutes = Math.round((claims.exp * 1000 - now) / 60_000);
    return minutes <= 0 ? `sub ${sub}, expired` : `sub ${sub}, expires in ${formatMinutes(minutes)}`;
  } catch {
    return "not a JWT";
  }
}

function formatMinutes(minutes: number): string {
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
