/**
 * `parley_event_loop_delay_seconds` on a real server's /metrics. The server runs
 * in this process, so a synchronous spin in the test blocks its event loop.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { delay, startTestServer } from "./helpers/server.ts";

/** `quantile` → value of parley_event_loop_delay_seconds. */
async function loopDelay(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (
    const m of text.matchAll(/^parley_event_loop_delay_seconds\{quantile="([^"]+)"\} (\S+)$/gm)
  ) {
    values.set(m[1]!, Number(m[2]));
  }
  return values;
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the event loop is blocked meanwhile */ }
}

Deno.test("/metrics: the event-loop delay's median, p99 and max, and a 200 ms block shows as a max ≥ 0.15 s", async () => {
  await using server = await startTestServer();
  await delay(100);
  const quiet = await loopDelay(server.url);
  assertEquals([...quiet.keys()], ["0.5", "0.99", "1"]);
  for (const value of quiet.values()) assert(value >= 0 && Number.isFinite(value), `${value}`);

  spin(200);
  await delay(50); // the probe's timer fires, late, and records it
  const blocked = await loopDelay(server.url);
  const max = blocked.get("1")!;
  assert(max >= 0.15 && max < 1, `max ${max} s after a 200 ms block`);
  assert(blocked.get("0.5")! <= blocked.get("0.99")! && blocked.get("0.99")! <= max);
});

Deno.test("the bench's watchLoopDelay reads the same metric, in ms", async () => {
  const { watchLoopDelay } = await import("../bench/server_metrics.ts");
  await using server = await startTestServer();
  const watch = watchLoopDelay(server.url);
  spin(200);
  await delay(50);
  const run = await watch.stop();
  assert(run.eventLoopDelayMaxMs >= 150 && run.eventLoopDelayMaxMs < 1000, JSON.stringify(run));
  assert(run.eventLoopDelayP50Ms <= run.eventLoopDelayP99Ms, JSON.stringify(run));
  assert(run.eventLoopDelayP99Ms <= run.eventLoopDelayMaxMs, JSON.stringify(run));
});
