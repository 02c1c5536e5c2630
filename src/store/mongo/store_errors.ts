import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { AppError } from "../../errors.ts";

/** Runs a store call; an unreachable server becomes STORE_UNAVAILABLE for clients. */
export async function storeCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MongoServerSelectionError || err instanceof MongoNetworkError) {
      throw new AppError("STORE_UNAVAILABLE", "The message store is unavailable; retry later");
    }
    throw err;
  }
}

export const DUPLICATE_KEY = 11000;

/**
 * Runs an upsert, once more if it lost an insert race to a concurrent upsert
 * of the same key: the retry then finds the row and updates it. MongoDB 4.2+
 * retries such upserts itself; FerretDB does not.
 */
export async function upsertRetrying<T>(upsert: () => Promise<T>): Promise<T> {
  try {
    return await upsert();
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
    return await upsert();
  }
}
