export interface TokenSource {
  authorization?: string | string[] | undefined;
  /** `?access_token=` value, for EventSource (which cannot set headers). */
  queryToken?: unknown;
}

export type ExtractedToken =
  | { token: string; from: "header" | "query" }
  | { token: undefined; from: "none" }
  | { token: undefined; from: "malformed" };

/** Reads a bearer token from the Authorization header, else (when given) from the query. */
export function extractToken(source: TokenSource): ExtractedToken {
  const header = Array.isArray(source.authorization) ? source.authorization[0] : source.authorization;
  if (header !== undefined && header !== "") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? { token: match[1]!, from: "header" } : { token: undefined, from: "malformed" };
  }
  if (typeof source.queryToken === "string" && source.queryToken !== "") {
    return { token: source.queryToken, from: "query" };
  }
  return { token: undefined, from: "none" };
}
