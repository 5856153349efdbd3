/** ANSI colors, off when the output is not a terminal (or NO_COLOR is set). */
export function palette(enabled: boolean) {
  const wrap = (code: number) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);
  return {
    bold: wrap(1),
    dim: wrap(2),
    red: wrap(31),
    green: wrap(32),
    yellow: wrap(33),
    blue: wrap(34),
    magenta: wrap(35),
    cyan: wrap(36),
    gray: wrap(90),
  };
}
export type Palette = ReturnType<typeof palette>;

const LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};
const SKIP = new Set(["level", "time", "pid", "hostname", "msg", "service", "v"]);

/**
 * One service log line for a human: pino JSON becomes `HH:MM:SS level msg key=value…`; anything
 * else is passed through as it is.
 */
export function formatLogLine(line: string, colors: Palette): string {
  if (!line.startsWith("{")) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry.level !== "number" || typeof entry.msg !== "string") return line;
  const time = typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 23) : "";
  const level = LEVELS[entry.level] ?? String(entry.level);
  const levelText =
    entry.level >= 50
      ? colors.red(level)
      : entry.level >= 40
        ? colors.yellow(level)
        : entry.level >= 30
          ? colors.green(level)
          : colors.gray(level);
  const extras = Object.entries(entry)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ")
    .slice(0, 400);
  return `${colors.gray(time)} ${levelText} ${entry.msg}${extras ? ` ${colors.gray(extras)}` : ""}`;
}
