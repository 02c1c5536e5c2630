import { assertEquals } from "../../tests/helpers/assert.ts";
import { LocalSockets } from "./local_sockets.ts";

const GRACE_MS = 20;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("LocalSockets counts a user's sockets; only the last one closing starts the grace period", async () => {
  const local = new LocalSockets(GRACE_MS);
  const offline: string[] = [];
  assertEquals(local.add("alice"), { count: 1, resumed: false });
  assertEquals(local.add("alice"), { count: 2, resumed: false });
  assertEquals(local.remove("alice", (u) => offline.push(u)), false);
  assertEquals(local.has("alice"), true);
  assertEquals(local.remove("alice", (u) => offline.push(u)), true);
  assertEquals(local.has("alice"), false);
  assertEquals(local.isOnline("alice"), true, "inside the grace period");
  assertEquals([...local.waitingUsers()], ["alice"]);
  await pause(GRACE_MS * 3);
  assertEquals(offline, ["alice"]);
  assertEquals(local.isOnline("alice"), false);
  assertEquals(local.onlineCount, 0);
});

Deno.test("LocalSockets: a socket back inside the grace period resumes, and the user never goes offline", async () => {
  const local = new LocalSockets(GRACE_MS);
  const offline: string[] = [];
  local.add("alice");
  local.remove("alice", (u) => offline.push(u));
  assertEquals(local.add("alice"), { count: 1, resumed: true });
  await pause(GRACE_MS * 3);
  assertEquals(offline, []);
  assertEquals([...local.connectedUsers()], ["alice"]);
  assertEquals([...local.waitingUsers()], []);
  local.remove("alice", () => {});
  local.endGracePeriods();
});

Deno.test("LocalSockets.onlineCount counts connected and waiting users once each", () => {
  const local = new LocalSockets(GRACE_MS);
  local.add("alice");
  local.add("alice");
  local.add("bob");
  local.add("carol");
  local.remove("carol", () => {});
  assertEquals(local.onlineCount, 3);
  assertEquals([...local.connectedUsers()].sort(), ["alice", "bob"]);
  local.endGracePeriods();
});

Deno.test("LocalSockets.endGracePeriods() cancels every pending offline and names who was waiting", async () => {
  const local = new LocalSockets(GRACE_MS);
  const offline: string[] = [];
  for (const user of ["alice", "bob"]) {
    local.add(user);
    local.remove(user, (u) => offline.push(u));
  }
  assertEquals(local.endGracePeriods().sort(), ["alice", "bob"]);
  assertEquals(local.onlineCount, 0);
  await pause(GRACE_MS * 3);
  assertEquals(offline, [], "no callback after shutdown");
});

Deno.test("LocalSockets.remove() of a user with no socket counts as the last one", () => {
  const local = new LocalSockets(GRACE_MS);
  assertEquals(local.remove("ghost", () => {}), true);
  assertEquals(local.has("ghost"), false);
  local.endGracePeriods();
});
