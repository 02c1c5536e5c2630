/**
 * The outbox contract (src/store/outbox_store.ts), run against every backend
 * (outbox_store_test.ts). A backend passes when it behaves identically here.
 */
import { backendTests, type OpenBackend } from "./store_contract.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const T0 = 1_800_000_000_000;
const LEASE = 30_000;

const entry = (id: string, channel = "events") => ({ id, channel, payload: `{"id":"${id}"}` });
const ids = (entries: { id: string }[]) => entries.map((e) => e.id).sort();

export function outboxContract(
  name: string,
  open: OpenBackend,
  options: { ignore?: boolean } = {},
) {
  const test = backendTests(`${name}: outbox `, open, (backend) => backend.outbox, options);

  test("add() queues entries due now; claim() leases them once, with their payload", async (outbox) => {
    assertEquals(await outbox.nextDue(), null);
    await outbox.add([entry("a", "webhook"), entry("b")], T0);
    assertEquals(await outbox.nextDue(), T0);
    assertEquals(await outbox.claim(T0 - 1, 10, LEASE), [], "nothing is due before its time");
    const claimed = await outbox.claim(T0, 10, LEASE);
    assertEquals(claimed.sort((x, y) => x.id.localeCompare(y.id)), [
      { ...entry("a", "webhook"), attempts: 1 },
      { ...entry("b"), attempts: 1 },
    ]);
    assertEquals(await outbox.claim(T0 + 1, 10, LEASE), [], "leased entries are not claimed again");
    assertEquals(await outbox.nextDue(), T0 + LEASE);
  });

  test("claim() takes at most `limit`, earliest due first", async (outbox) => {
    await outbox.add([entry("late")], T0 + 100);
    await outbox.add([entry("early")], T0);
    await outbox.add([entry("middle")], T0 + 50);
    assertEquals(ids(await outbox.claim(T0 + 200, 2, LEASE)), ["early", "middle"]);
    assertEquals(ids(await outbox.claim(T0 + 200, 2, LEASE)), ["late"]);
  });

  test("an entry whose lease ran out (its process died mid-delivery) is claimed again", async (outbox) => {
    await outbox.add([entry("a")], T0);
    assertEquals((await outbox.claim(T0, 1, LEASE))[0]?.attempts, 1);
    assertEquals(await outbox.claim(T0 + LEASE - 1, 1, LEASE), []);
    assertEquals((await outbox.claim(T0 + LEASE, 1, LEASE))[0]?.attempts, 2);
  });

  test("add() of an id already queued or finished changes nothing", async (outbox) => {
    await outbox.add([entry("a")], T0);
    await outbox.claim(T0, 1, LEASE);
    await outbox.add([{ ...entry("a"), payload: "other" }, entry("b")], T0 + 1);
    assertEquals(await outbox.claim(T0 + 1, 10, LEASE), [{ ...entry("b"), attempts: 1 }]);
    await outbox.finish("b", T0 + 2);
    await outbox.add([entry("b")], T0 + 3);
    assertEquals(await outbox.claim(T0 + LEASE * 10, 10, LEASE), [
      { ...entry("a"), attempts: 2 },
    ], "the finished b stays finished");
  });

  test("retryAt() moves the due time; finish() ends the entry, also for a late retryAt()", async (outbox) => {
    await outbox.add([entry("a"), entry("b")], T0);
    await outbox.claim(T0, 10, LEASE);
    await outbox.retryAt("a", T0 + 500);
    await outbox.finish("b", T0 + 10);
    await outbox.retryAt("b", T0 + 600);
    assertEquals(await outbox.nextDue(), T0 + 500);
    assertEquals(await outbox.claim(T0 + 499, 10, LEASE), []);
    assertEquals(await outbox.claim(T0 + 1000, 10, LEASE), [{ ...entry("a"), attempts: 2 }]);
    await outbox.finish("a", T0 + 1000);
    assertEquals(await outbox.nextDue(), null);
  });

  test("purge() drops tombstones finished before the time given, then the id may come again", async (outbox) => {
    await outbox.add([entry("old"), entry("new"), entry("open")], T0);
    await outbox.finish("old", T0 + 10);
    await outbox.finish("new", T0 + 20);
    assertEquals(await outbox.purge(T0 + 15), 1);
    assertEquals(await outbox.purge(T0 + 15), 0);
    await outbox.add([entry("old"), entry("new")], T0 + 30);
    assertEquals(ids(await outbox.claim(T0 + 30, 10, LEASE)), ["old", "open"]);
  });

  test("two claims at once never lease one entry twice", async (outbox) => {
    const all = Array.from({ length: 40 }, (_, i) => entry(`e${String(i).padStart(2, "0")}`));
    await outbox.add(all, T0);
    const rounds = await Promise.all([
      outbox.claim(T0, 25, LEASE),
      outbox.claim(T0, 25, LEASE),
      outbox.claim(T0, 25, LEASE),
    ]);
    const claimed = rounds.flat();
    assertEquals(ids(claimed), ids(all));
    assert(claimed.every((e) => e.attempts === 1));
  });
}
