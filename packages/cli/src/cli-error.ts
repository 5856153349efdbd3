/** Exit codes: 1 for a failure at run time (unreachable service, HTTP error), 2 for bad input. */
export const EXIT = { failure: 1, usage: 2 } as const;

/** An error the CLI reports as one line on stderr, then exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A CliError for input the user must fix (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
