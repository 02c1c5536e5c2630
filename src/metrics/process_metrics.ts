/**
 * Process figures that hold under Deno's permissions. prom-client's defaults read them from
 * /proc/self, which Deno opens only to a process run with `--allow-all` (any narrower grant,
 * `--allow-read` included, is refused with NotCapable), and then they read 0. The memory
 * figures come from `Deno.memoryUsage()`, which needs no permission; open file descriptors
 * are counted in /proc/self/fd where Deno lets the process read it, and are left out
 * otherwise: a missing series says "unknown", a 0 would say "none".
 */
import client from "prom-client";

/** prom-client's /proc-based figures that this module replaces (or, unknowable, drops). */
const REPLACED = [
  "process_resident_memory_bytes",
  "process_heap_bytes",
  "process_virtual_memory_bytes",
  "process_open_fds",
];

function openFileDescriptors(): number | undefined {
  try {
    // Less the one the listing itself holds open.
    return [...Deno.readDirSync("/proc/self/fd")].length - 1;
  } catch {
    return undefined;
  }
}

/** Replaces the /proc-based defaults in `registry` (after `collectDefaultMetrics`). */
export function registerProcessMetrics(registry: client.Registry, prefix: string): void {
  for (const name of REPLACED) registry.removeSingleMetric(`${prefix}${name}`);
  const registers = [registry];
  new client.Gauge({
    name: `${prefix}process_resident_memory_bytes`,
    help: "Resident memory size in bytes (Deno.memoryUsage().rss).",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new client.Gauge({
    name: `${prefix}process_heap_bytes`,
    help: "V8 heap size in bytes, used and free (Deno.memoryUsage().heapTotal).",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapTotal);
    },
  });
  if (openFileDescriptors() === undefined) return;
  new client.Gauge({
    name: `${prefix}process_open_fds`,
    help: "Number of open file descriptors (/proc/self/fd; only when run with --allow-all).",
    registers,
    collect() {
      const count = openFileDescriptors();
      if (count !== undefined) this.set(count);
    },
  });
}
