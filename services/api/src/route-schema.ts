import { ErrorBody } from "@threadline/protocol";
import type { FastifySchema } from "fastify";
import { z } from "zod";

export interface RouteDoc {
  summary: string;
  tags?: string[];
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  /** Success responses by status code; the error statuses share ErrorBody. */
  responses: Record<number, z.ZodType>;
  errors?: number[];
  /** Default true: the route needs `Authorization: Bearer <jwt>`. */
  auth?: boolean;
}

/**
 * Turns zod schemas into the Fastify route schema @fastify/swagger documents. These schemas are
 * documentation only: the app installs no-op validator and serializer compilers, and handlers parse
 * with zod, so errors keep the `{error:{code,message,details}}` shape.
 */
export function routeSchema(doc: RouteDoc): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(doc.responses)) response[status] = toJson(schema, "output");
  for (const status of doc.errors ?? []) response[status] = toJson(ErrorBody, "output");
  return {
    summary: doc.summary,
    tags: doc.tags ?? ["runs"],
    ...(doc.auth === false ? {} : { security: [{ bearerAuth: [] }] }),
    ...(doc.params ? { params: toJson(doc.params, "input") } : {}),
    ...(doc.querystring ? { querystring: toJson(doc.querystring, "input") } : {}),
    ...(doc.body ? { body: toJson(doc.body, "input") } : {}),
    response,
  } as FastifySchema;
}

function toJson(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io,
    unrepresentable: "any",
  });
  return json;
}
