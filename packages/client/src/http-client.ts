import { toThreadlineError } from "./threadline-error.js";
import type { FetchLike, GetToken } from "./types.js";

export interface HttpClient {
  /** Sends a JSON request to the API; resolves the parsed JSON body or rejects with a ThreadlineError. */
  request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown>;
}

/** JSON-over-HTTP for the API, with the token in the Authorization header. */
export function createHttpClient(baseUrl: string, getToken: GetToken, fetchImpl: FetchLike): HttpClient {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    async request(method, path, body) {
      const token = await getToken({ reason: "initial" });
      const headers: Record<string, string> = { accept: "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw await toThreadlineError(response);
      const text = await response.text();
      return text ? JSON.parse(text) : undefined;
    },
  };
}
