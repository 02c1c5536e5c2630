/** What a process holds in memory, read from Linux's /proc (the tests' machine and CI). */

/** The resident set size of process `pid`, in bytes. */
export function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]) * 1024;
}
