import { assertEquals } from "../../tests/helpers/assert.ts";
import { SendOrder } from "./send_order.ts";

const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("SendOrder: one sender's writes are issued in arrival order, whatever their checks take", async () => {
  const order = new SendOrder();
  const issued: string[] = [];
  // The first send's checks take longest: without the order its write would be issued last.
  await Promise.all([30, 10, 0].map((checkMs, i) =>
    order.inOrder("alice", async () => {
      await after(checkMs);
      issued.push(`alice ${i}`);
    })
  ));
  assertEquals(issued, ["alice 0", "alice 1", "alice 2"]);
});

Deno.test("SendOrder: senders do not wait for each other, and a refusal does not stop the next", async () => {
  const order = new SendOrder();
  const issued: string[] = [];
  const slow = order.inOrder("alice", async () => {
    await after(50);
    issued.push("alice");
  });
  const refused = order.inOrder("bob", () => Promise.reject(new Error("blocked")));
  const next = order.inOrder("bob", () => Promise.resolve(void issued.push("bob")));
  await refused.catch(() => issued.push("bob refused"));
  await next;
  assertEquals(issued, ["bob refused", "bob"], "bob's sends went while alice's checks ran");
  await slow;
  assertEquals(issued.at(-1), "alice");
});
