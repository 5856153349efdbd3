/**
 * The value with every lone UTF-16 surrogate in its strings (values and object keys, at any depth)
 * replaced by U+FFFD, as `String.prototype.toWellFormed` does; the value itself when it has none.
 *
 * Why: `JSON.stringify` writes a lone surrogate as a `\udXXX` escape, and Redis's Lua cjson refuses
 * such an escape ("invalid unicode escape code"), so the publish script would refuse the whole event
 * and fail its run. A lone surrogate cannot be sent as UTF-8 anyway: U+FFFD is what a UTF-8 encoder
 * (TextEncoder, Buffer) would make of it. Objects are walked as JSON would see them (own enumerable
 * keys; `toJSON` is not called: events are plain data).
 */
export function wellFormed<T>(value: T): T {
  return fix(value) as T;
}

/**
 * `JSON.stringify` with lone surrogates as U+FFFD: the JSON every TS producer hands the publish script.
 * A string (a token's text, the hot path) is checked with `isWellFormed`, cheaper on two-byte text than
 * scanning its JSON. Anything else is stringified first: `JSON.stringify` writes a lone surrogate as a
 * lower-case `\udXXX` escape and a pair as is, so JSON without that text has nothing to fix (a literal
 * backslash-u in a text only costs a second look).
 */
export function wellFormedJson(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.isWellFormed() ? value : value.toWellFormed());
  const json = JSON.stringify(value);
  return json.includes("\\ud") ? JSON.stringify(wellFormed(value)) : json;
}

function fix(value: unknown): unknown {
  if (typeof value === "string") return value.isWellFormed() ? value : value.toWellFormed();
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const fixed = fix(item);
      if (fixed !== item) {
        copy ??= value.slice();
        copy[i] = fixed;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const fixedKey = key.isWellFormed() ? key : key.toWellFormed();
    const fixed = fix(item);
    if (fixed === item && fixedKey === key) continue;
    copy ??= { ...value };
    if (fixedKey !== key) delete copy[key];
    copy[fixedKey] = fixed;
  }
  return copy ?? value;
}
