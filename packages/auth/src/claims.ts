import { ThreadId } from "@threadline/protocol";
import { z } from "zod";

/** What Threadline reads from a verified JWT. Other claims are kept but not interpreted. */
export const Claims = z.looseObject({
  sub: z.string().min(1, "must be a non-empty string").max(256),
  exp: z.number({ error: "is required (tokens must expire)" }).int(),
  threads: z
    .array(z.union([z.literal("*"), ThreadId]))
    .max(1000)
    .optional(),
  role: z.literal("admin").optional(),
});
export type Claims = z.infer<typeof Claims>;

/** A token may read a thread it lists (or `*`), a thread its `sub` owns, or any thread as admin. */
export function canRead(claims: Claims, threadId: string, owner: string | null | undefined): boolean {
  if (claims.role === "admin") return true;
  if (claims.threads?.includes("*") || claims.threads?.includes(threadId)) return true;
  return owner !== null && owner !== undefined && owner === claims.sub;
}

export function isAdmin(claims: Claims): boolean {
  return claims.role === "admin";
}
