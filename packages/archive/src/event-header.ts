import { z } from "zod";

/**
 * What the archive reads out of a log entry's JSON. Deliberately loose (`content` unchecked, other
 * fields passed through): the archive keeps every entry byte for byte, whatever a publisher put in.
 */
export const EventHeader = z.looseObject({
  type: z.string().min(1),
  ts: z.number().int().nonnegative(),
  seq: z.number().int().positive().optional(),
  runId: z.string().min(1).optional(),
  content: z.unknown().optional(),
});
export type EventHeader = z.infer<typeof EventHeader>;

/** Parses one entry; undefined when it is not a JSON object with at least `type` and `ts`. */
export function parseEventHeader(json: string): EventHeader | undefined {
  try {
    const parsed = EventHeader.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
