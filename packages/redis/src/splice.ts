/**
 * Puts `"id":"<id>"` first in a JSON object string. The publish script does the same in Lua, so an
 * event read from the log is byte-identical to the one that went out live.
 */
export function spliceId(id: string, json: string): string {
  return `{"id":"${id}",${json.slice(1)}`;
}
