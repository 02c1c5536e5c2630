import { openMongoBackend } from "../src/store/mongo/mongo_backend.ts";
import { MONGODB_URI } from "./helpers/server.ts";
import { storeContract } from "./store_contract.ts";
import { groupStoreContract } from "./group_store_contract.ts";

if (!MONGODB_URI) {
  console.warn(
    "SKIPPED: MongoDB store contract (MONGODB_URI is not set; run scripts/mongo-test-server.sh start)",
  );
}

let run = 0;
storeContract(
  "mongo store",
  () => openMongoBackend(MONGODB_URI!, `parley_test_${Date.now()}_${run++}`),
  { ignore: !MONGODB_URI },
);
groupStoreContract(
  "mongo store",
  () => openMongoBackend(MONGODB_URI!, `parley_test_${Date.now()}_${run++}`),
  { ignore: !MONGODB_URI },
);
