import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { InFlight } from "./in_flight.ts";

/** A promise settled from outside, to hold work "running" for as long as a test needs. */
function held<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

Deno.test("InFlight.track() hands back the work it was given, settling as it does", async () => {
  const inFlight = new InFlight();
  const work = Promise.resolve(42);
  const tracked = inFlight.track(work);
  assert(tracked === work);
  assertEquals(await tracked, 42);
});

Deno.test("InFlight.drain() waits for running work, failed work included", async () => {
  const inFlight = new InFlight();
  const ok = held();
  const failing = held();
  inFlight.track(ok.promise);
  inFlight.track(failing.promise).catch(() => {});
  let drained = false;
  const draining = inFlight.drain(10_000).then(() => drained = true);
  ok.resolve();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assertEquals(drained, false, "one handler still runs");
  failing.reject(new Error("handler failed"));
  await draining;
  assertEquals(drained, true);
});

Deno.test("InFlight.drain() gives up after its timeout when work never settles", async () => {
  const inFlight = new InFlight();
  const never = held();
  inFlight.track(never.promise);
  const started = performance.now();
  await inFlight.drain(30);
  const waited = performance.now() - started;
  assert(waited >= 25 && waited < 1000, `waited ${waited} ms`);
  never.resolve();
});

Deno.test("InFlight.drain() resolves at once when nothing runs, settled work forgotten", async () => {
  const inFlight = new InFlight();
  await inFlight.track(Promise.resolve());
  const started = performance.now();
  await inFlight.drain(10_000);
  assert(performance.now() - started < 1000);
});
