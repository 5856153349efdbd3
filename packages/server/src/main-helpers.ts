import { ConfigError } from "@threadline/config";

/** Runs a service's `main`, turning a bad environment into one line per variable and exit code 1. */
export async function runMain(service: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(
        `${service}: invalid configuration\n${error.lines.map((l) => `  ${l}\n`).join("")}`,
      );
    } else {
      process.stderr.write(
        `${service}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
    process.exit(1);
  }
}
