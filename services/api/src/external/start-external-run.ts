import { signPublishToken } from "@threadline/auth";
import type { ExternalRunCreated } from "@threadline/protocol";
import { ERRORS } from "@threadline/protocol";
import { httpError } from "@threadline/server";
import type { RouteContext } from "../routes/route-context.js";

/** The `agent` an external run's record shows. */
export const EXTERNAL_AGENT = "external";

/** Publish tokens are signed with JWT_SECRET: an API that only verifies (RS256 public key) cannot. */
export function checkExternalRunsAvailable(ctx: RouteContext): void {
  if (ctx.config.jwt.secret) return;
  throw httpError(
    ERRORS.EXTERNAL_RUNS_UNAVAILABLE,
    "external runs need the API to sign publish tokens: set JWT_SECRET (HS256) on the API",
  );
}

/**
 * After the record exists and `status queued` is published: index the run for the silence check
 * and hand the producer its URL and token. No job is queued: the producer owns the lifecycle.
 */
export async function startExternalRun(
  ctx: RouteContext,
  run: { threadId: string; runId: string; createdAt: string },
): Promise<ExternalRunCreated> {
  const { threadId, runId } = run;
  const secret = ctx.config.jwt.secret;
  if (!secret) throw new Error("checkExternalRunsAvailable must run first");
  await ctx.externalRuns.add({ threadId, runId, createdAt: Date.parse(run.createdAt) });
  const ttlSeconds = ctx.config.publishTokenTtlSeconds;
  const publishToken = signPublishToken(secret, {
    threadId,
    runId,
    ttlSeconds,
    ...(ctx.config.jwt.audience ? { audience: ctx.config.jwt.audience } : {}),
    ...(ctx.config.jwt.issuer ? { issuer: ctx.config.jwt.issuer } : {}),
  });
  return {
    runId,
    threadId,
    status: "queued",
    eventsUrl: `${ctx.config.gatewayPublicUrl ?? ""}/v1/threads/${threadId}/events`,
    publishUrl: `/v1/threads/${threadId}/runs/${runId}/events`,
    publishToken,
    publishTokenExpiresAt: new Date(ctx.now() + ttlSeconds * 1000).toISOString(),
  };
}
