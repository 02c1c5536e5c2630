import type { Config } from "../config.ts";
import { openKvStore } from "./kv/kv_store.ts";
import type { ChatStore } from "./repository.ts";

/** Opens the configured backend; the MongoDB driver is loaded only when it is used. */
export async function openStore(config: Config["store"]): Promise<ChatStore> {
  if (config.kind === "kv") return await openKvStore(config.path);
  const { openMongoStore } = await import("./mongo/mongo_store.ts");
  return await openMongoStore(config.uri, config.db);
}
