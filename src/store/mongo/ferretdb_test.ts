import { assert, assertEquals, assertRejects } from "../../../tests/helpers/assert.ts";
import { inChunks, KeyedSerialQueue, SerialQueue } from "./ferretdb.ts";

/** A job that records when it starts and ends, and holds on for a few turns of the event loop. */
function recording(log: string[], name: string, ms = 5) {
  return async () => {
    log.push(`${name} start`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(`${name} end`);
    return name;
  };
}

Deno.test("SerialQueue.run() runs jobs one at a time, in the order queued", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  const results = await Promise.all([
    queue.run(recording(log, "a", 10)),
    queue.run(recording(log, "b", 1)),
    queue.run(recording(log, "c", 5)),
  ]);
  assertEquals(results, ["a", "b", "c"]);
  assertEquals(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
});

Deno.test("SerialQueue.run() settles as its job does; a failed job does not stop the next", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  const failing = queue.run(() => Promise.reject(new Error("write refused")));
  const next = queue.run(recording(log, "next"));
  await assertRejects(
    () => failing,
    (err) => assertEquals((err as Error).message, "write refused"),
  );
  assertEquals(await next, "next");
  assertEquals(log, ["next start", "next end"]);
});

Deno.test("KeyedSerialQueue.run() serializes jobs of one key and runs other keys alongside", async () => {
  const queue = new KeyedSerialQueue();
  const log: string[] = [];
  await Promise.all([
    queue.run("m1", recording(log, "m1 first", 20)),
    queue.run("m2", recording(log, "m2", 1)),
    queue.run("m1", recording(log, "m1 second", 1)),
  ]);
  // m2 ran while m1's first job was still running; m1's second waited for it.
  assert(log.indexOf("m2 end") < log.indexOf("m1 first end"), log.join(", "));
  assert(log.indexOf("m1 first end") < log.indexOf("m1 second start"), log.join(", "));
});

Deno.test("KeyedSerialQueue.run() keeps order after a failure and forgets idle keys", async () => {
  const queue = new KeyedSerialQueue();
  const log: string[] = [];
  const failing = queue.run("u1", () => Promise.reject(new Error("lost")));
  const next = queue.run("u1", recording(log, "after"));
  await assertRejects(() => failing);
  assertEquals(await next, "after");
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Private, read here only to show that one queue per document ever seen is not kept forever.
  assertEquals(queue["tails"].size, 0);
});

Deno.test("inChunks() cuts a list into consecutive slices of at most 50 by default", () => {
  const items = Array.from({ length: 101 }, (_, i) => i);
  const chunks = inChunks(items);
  assertEquals(chunks.map((c) => c.length), [50, 50, 1]);
  assertEquals(chunks.flat(), items);
  assertEquals(inChunks([1, 2, 3], 2), [[1, 2], [3]]);
  assertEquals(inChunks([]), []);
});
