import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { storeContract } from "./store_contract.ts";

const uploadDir = await Deno.makeTempDir({ prefix: "parley-sqlite-uploads-" });

storeContract("sqlite store (:memory:)", () => openSqliteBackend(":memory:", { uploadDir }));

storeContract("sqlite store (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-" });
  return await openSqliteBackend(`${dir}/parley.db`, { uploadDir });
});
