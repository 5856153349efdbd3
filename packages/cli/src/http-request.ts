import { ErrorBody } from "@threadline/protocol";
import { CliError } from "./cli-error.js";

export interface HttpRequest {
  /** Which service, for error lines: "API" or "gateway". */
  service: string;
  /** The env variable that sets the base URL, named in connection errors. */
  urlVariable: string;
  method: "GET" | "POST";
  url: string;
  token: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** Sends one JSON request; a network failure or an error status becomes a one-line CliError. */
export async function httpRequest(req: HttpRequest): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(req.url, {
      method: req.method,
      headers: {
        authorization: `Bearer ${req.token}`,
        ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
  } catch (error) {
    throw unreachable(req, error);
  }
  const text = await response.text();
  if (!response.ok) throw new CliError(`${req.service} ${response.status}: ${errorBodyText(text)}`);
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${req.service} answered ${response.status} with a body that is not JSON`);
  }
}

/** A connection failure as one line that says which variable to check. */
export function unreachable(
  req: Pick<HttpRequest, "service" | "urlVariable" | "url">,
  error: unknown,
): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new CliError(
    `cannot reach the ${req.service} at ${new URL(req.url).origin} (${detail}); is it running? set ${req.urlVariable}`,
  );
}

/** An error response body as one line: `CODE: message` for our error bodies, else the start of the text. */
export function errorBodyText(text: string): string {
  try {
    const body = ErrorBody.safeParse(JSON.parse(text));
    if (body.success) return `${body.data.error.code}: ${body.data.error.message}`;
  } catch {}
  return text.slice(0, 200) || "(empty body)";
}
