import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoServerSelectionError,
  type WriteError,
} from "mongodb";
import { AppError } from "../../errors.ts";

/** Runs a store call; an unreachable server becomes STORE_UNAVAILABLE for clients. */
export async function storeCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MongoServerSelectionError || err instanceof MongoNetworkError) {
      const unavailable = new AppError(
        "STORE_UNAVAILABLE",
        "The message store is unavailable; retry later",
      );
      unavailable.cause = err; // for logs and start-up (startup_errors.ts): which server, why
      throw unavailable;
    }
    throw err;
  }
}

export const DUPLICATE_KEY = 11000;

/**
 * The per-document errors of a bulk write that was carried out; anything else
 * is rethrown, unwrapped: when the server cannot be reached the driver wraps
 * the selection error in a bulk error with no document errors, and storeCall
 * must see the selection error to answer STORE_UNAVAILABLE.
 */
export function perDocumentErrors(err: unknown): WriteError[] {
  if (!(err instanceof MongoBulkWriteError)) throw err;
  const list = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  const writeErrors = list.filter((e): e is WriteError => e !== undefined);
  if (err.writeConcernError || writeErrors.length === 0) {
    throw err.errorResponse instanceof Error ? err.errorResponse : err;
  }
  return writeErrors;
}
