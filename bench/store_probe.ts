/**
 * Preloaded into the Parley server by `bench/main.ts --probe-store`
 * (`deno run --preload bench/store_probe.ts main.ts`): records the SQLite
 * backend's write batches (worker_probe.ts) and, on SIGUSR2, writes them as
 * JSON (BatchTrace[]) to the file named by PARLEY_STORE_PROBE. Diagnostics
 * only: the wrapper costs the server a few µs per batch.
 */
import { installWorkerProbe } from "./worker_probe.ts";

const file = Deno.env.get("PARLEY_STORE_PROBE");
if (file) {
  const probe = installWorkerProbe();
  Deno.addSignalListener("SIGUSR2", () => {
    Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(probe.traces));
    Deno.renameSync(`${file}.tmp`, file);
  });
}
