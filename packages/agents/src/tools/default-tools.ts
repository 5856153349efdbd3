import { calculator } from "./calculator.js";
import type { Tool } from "./tool.js";
import { wordCount } from "./word-count.js";

/** The local tools every agent may call: no network, no keys. */
export function defaultTools(): Tool[] {
  return [calculator, wordCount] as Tool[];
}
