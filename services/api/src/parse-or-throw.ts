import type { z } from "zod";
import { type BadRequestSpec, type FieldIssue, invalid } from "./errors.js";

/** Parses with zod or throws a 400 whose message and `details.issues` name each failing field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  spec: BadRequestSpec,
  where: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid(spec, where, toFieldIssues(result.error.issues));
}

function toFieldIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): FieldIssue[] {
  return issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join("."),
    message: issue.message,
  }));
}
