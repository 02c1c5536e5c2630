/**
 * A raw handle on the configured database, for features that keep their own
 * keys or collections beside the chat store (uploads, push subscriptions).
 *
 * The chat store (kv/, mongo/) opens its own connection and does not expose
 * it, so this opens a second one to the same database: the same Deno KV file
 * (one process may open a file twice; two processes still may not), or the
 * same MongoDB database with its own small pool. With `KV_PATH=:memory:` the
 * second handle is another in-memory database, which keeps nothing either.
 * Once the chat store exposes its handle, this becomes a plain accessor.
 */
import { dirname } from "node:path";
import type { Db } from "mongodb";
import type { Config } from "../config.ts";

export type Database =
  | { readonly kind: "kv"; readonly kv: Deno.Kv; close(): Promise<void> }
  | { readonly kind: "mongo"; readonly db: Db; close(): Promise<void> };

export async function openDatabase(config: Config["store"]): Promise<Database> {
  if (config.kind === "kv") {
    if (config.path !== ":memory:") await Deno.mkdir(dirname(config.path), { recursive: true });
    const kv = await Deno.openKv(config.path);
    return { kind: "kv", kv, close: () => Promise.resolve(kv.close()) };
  }
  const { MongoClient } = await import("mongodb");
  const { storeCall } = await import("./mongo/store_errors.ts");
  const client = new MongoClient(config.uri, {
    // The same bounds as the chat store: an outage answers STORE_UNAVAILABLE, never hangs.
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
    socketTimeoutMS: 5000,
    writeConcern: { w: "majority" },
    maxPoolSize: 20,
  });
  await storeCall(() => client.connect());
  return { kind: "mongo", db: client.db(config.db), close: () => client.close() };
}
