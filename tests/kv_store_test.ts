import { openKvStore } from "../src/store/kv/kv_store.ts";
import { assertEquals } from "./helpers/assert.ts";
import { storeContract } from "./store_contract.ts";

storeContract("kv store", () => openKvStore(":memory:"));

Deno.test("kv store: markAllOffline sets more users offline than one commit holds", async () => {
  // Ten mutations per commit: 45 users online need several commits.
  const store = await openKvStore(":memory:", { groupCommit: { maxMutations: 10 } });
  try {
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    const seen = "2024-01-01T10:00:00.000Z";
    await Promise.all(users.map((id) => store.users.setPresence(id, true, seen)));
    await store.users.setPresence("offline", false, seen);
    const at = "2024-01-01T11:00:00.000Z";
    assertEquals(await store.users.markAllOffline(at), 45);
    const stored = await store.users.getMany([...users, "offline"]);
    assertEquals(
      [...stored.values()].filter((u) => u.isOnline || u.lastSeen !== at).map((u) => u._id),
      ["offline"],
    );
  } finally {
    await store.close();
  }
});
