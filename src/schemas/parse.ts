import type { z } from "zod";
import { AppError } from "../errors.ts";
import { describeIssue } from "./inputs.ts";

/** Validates an input at the edge; bad input becomes a VALIDATION_ERROR naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError("VALIDATION_ERROR", describeIssue(result.error));
  return result.data;
}
