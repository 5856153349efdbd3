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

/** Claim `tl_publish` of a publish token: the one run it may publish to. */
export const PublishGrant = z.object({ threadId: ThreadId, runId: z.string().min(1) });
export type PublishGrant = z.infer<typeof PublishGrant>;

/** The run a publish token is scoped to, or undefined for any other token. */
export function publishGrantOf(claims: Claims): PublishGrant | undefined {
  if (claims.tl_publish === undefined) return undefined;
  const grant = PublishGrant.safeParse(claims.tl_publish);
  // A malformed grant scopes the token to nothing rather than to everything.
  return grant.success ? grant.data : { threadId: "", runId: "" };
}
