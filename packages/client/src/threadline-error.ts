import { ErrorBody } from "@threadline/protocol";

/** An HTTP failure from the API or the gateway, carrying the `{error:{code,message,details}}` body. */
export class ThreadlineError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ThreadlineError";
  }
}

/** Builds a ThreadlineError from a failed response, whatever its body (JSON error body, HTML from a proxy, nothing). */
export async function toThreadlineError(response: Response): Promise<ThreadlineError> {
  const text = await response.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = ErrorBody.safeParse(json);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ThreadlineError(response.status, code, message, details);
  }
  const snippet = text.replace(/\s+/g, " ").slice(0, 120);
  return new ThreadlineError(
    response.status,
    `HTTP_${response.status}`,
    `${response.status} ${response.statusText || "error"}${snippet ? `: ${snippet}` : ""}`,
  );
}
