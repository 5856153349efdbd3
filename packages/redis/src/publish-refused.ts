import { ERRORS } from "@threadline/protocol";

const REFUSALS = [ERRORS.INVALID_EVENT.code, ERRORS.STALE_ATTEMPT.code, ERRORS.RUN_ENDED.code] as const;

/** Why the publish script refused an event (the first word of its error reply). */
export type PublishRefusal = (typeof REFUSALS)[number];

/**
 * The publish script refused an event: retrying it cannot help. `STALE_ATTEMPT` tells a producer that
 * a newer attempt owns the run (stop the agent); `RUN_ENDED` that the run already published `done`.
 */
export class PublishRefusedError extends Error {
  constructor(
    readonly code: PublishRefusal,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = "PublishRefusedError";
  }
}

/** Maps the script's error reply ("<CODE> <detail>") to a PublishRefusedError, or undefined. */
export function refusalOf(error: unknown): PublishRefusedError | undefined {
  const message = error instanceof Error ? error.message : "";
  const space = message.indexOf(" ");
  const code = (space < 0 ? message : message.slice(0, space)) as PublishRefusal;
  if (!(REFUSALS as readonly string[]).includes(code)) return undefined;
  return new PublishRefusedError(code, message.slice(space + 1));
}
