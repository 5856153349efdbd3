import { toThreadlineError } from "./threadline-error.js";
import type { FetchLike, GetToken, TokenReason } from "./types.js";

export interface HttpClient {
  /** Sends a JSON request to the API; resolves the parsed JSON body or rejects with a ThreadlineError. */
  request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown>;
}

/** JSON-over-HTTP for the API, with the token in the Authorization header. */
export function createHttpClient(baseUrl: string, getToken: GetToken, fetchImpl: FetchLike): HttpClient {
  const base = baseUrl.replace(/\/+$/, "");
  const send = async (method: string, path: string, body: unknown, reason: TokenReason) => {
    const token = await getToken({ reason });
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    return fetchImpl(`${base}${path}`, init);
  };
  return {
    async request(method, path, body) {
      let response = await send(method, path, body, "initial");
      // A cached token may have expired: ask for a fresh one once. Safe to repeat: a 401 did nothing.
      if (response.status === 401) {
        await response.body?.cancel();
        response = await send(method, path, body, "expired");
      }
      if (!response.ok) throw await toThreadlineError(response);
      const text = await response.text();
      return text ? JSON.parse(text) : undefined;
    },
  };
}
