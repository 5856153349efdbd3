/**
 * The command line after the script name, without the `--` that `pnpm <script> -- --flag` passes
 * through: node's parseArgs would take it as the end of the options and refuse what follows.
 */
export function scriptArgs(argv: readonly string[] = process.argv): string[] {
  const args = argv.slice(2);
  return args[0] === "--" ? args.slice(1) : args;
}
