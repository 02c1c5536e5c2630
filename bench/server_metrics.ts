/**
 * Parley's own view of a run, from its Prometheus `/metrics`: how long the
 * server took from a `sendMessage` arriving to its ack (validation, the
 * group-commit queue, the durable commit). Set against the load generators'
 * send → receive latency it tells server-side queueing from time spent in the
 * clients and the kernel. The histogram's buckets are coarse, so a percentile
 * is reported as the upper bound of the bucket it falls in.
 */

/** Cumulative counts per bucket upper bound (seconds), for one event. */
export type Buckets = Map<number, number>;

const BUCKET_LINE =
  /^parley_event_duration_seconds_bucket\{(?=[^}]*event="sendMessage")[^}]*le="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)$/;

export async function readSendBuckets(url: string): Promise<Buckets> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const buckets: Buckets = new Map();
  for (const line of (await res.text()).split("\n")) {
    const m = line.match(BUCKET_LINE);
    if (m) buckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return buckets;
}

/**
 * The upper bound in ms of the bucket holding quantile `q` of what happened
 * between two readings; NaN when nothing did.
 */
export function quantileBoundMs(before: Buckets, after: Buckets, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return Infinity;
}
