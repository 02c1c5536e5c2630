import { openKvStore } from "../src/store/kv/kv_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract("kv store", () => openKvStore(":memory:"));
