/**
 * The outbox contract on both backends. Its own file rather than lines in
 * sqlite_store_test.ts and mongo_store_test.ts: the chat contract there is
 * run several ways (encrypted, file, memory), which the outbox does not vary.
 */
import { openMongoBackend } from "../src/store/mongo/mongo_backend.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { MONGODB_URI } from "./helpers/server.ts";
import { outboxContract } from "./outbox_store_contract.ts";

const uploadDir = await Deno.makeTempDir({ prefix: "parley-outbox-uploads-" });

outboxContract("sqlite (:memory:)", () => openSqliteBackend(":memory:", { uploadDir }));

outboxContract("sqlite (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-outbox-" });
  return await openSqliteBackend(`${dir}/parley.db`, { uploadDir });
});

let run = 0;
outboxContract(
  "mongo",
  () => openMongoBackend(MONGODB_URI!, `parley_outbox_${Date.now()}_${run++}`),
  { ignore: !MONGODB_URI },
);
