/**
 * What one Deno KV write costs on this machine, outside Parley: commits of
 * 800 small `set`s (Parley's group commit writes up to ~900 mutations per
 * commit) whose keys fall into 1 … 1,000 distinct key ranges (users), on a
 * file, next to the cost of one commit per message. It shows what bounds the
 * KV write path: SQLite's work per distinct B-tree page a commit touches, not
 * the number of commits.
 *
 *   deno run -A --unstable-kv bench/kv_write_cost.ts [--dir DIR]
 */
import { parseArgs } from "node:util";

async function perMutation(kv: Deno.Kv, users: number, perCommit: number, commits: number) {
  const names = Array.from({ length: users }, (_, i) => `user${i}`);
  let n = 0;
  const t0 = performance.now();
  for (let c = 0; c < commits; c++) {
    const op = kv.atomic();
    for (let i = 0; i < perCommit; i++) {
      const id = String(1e12 + n++).padStart(26, "0");
      op.set([`inbox${users}`, names[n % users]!, id], 1);
    }
    await op.commit();
  }
  const ms = performance.now() - t0;
  return { msPerCommit: ms / commits, usPerMutation: (ms * 1000) / (commits * perCommit) };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { dir: { type: "string" } } });
  const dir = values.dir ?? await Deno.makeTempDir({ prefix: "parley-kv-cost-" });
  const path = `${dir}/cost.kv`;
  const kv = await Deno.openKv(path);
  try {
    const single = performance.now();
    for (let i = 0; i < 500; i++) {
      await kv.atomic().set(["one", i], { text: "hello" }).set(["two", i], 1).set(["three", i], 1)
        .commit();
    }
    const perCommit = (performance.now() - single) / 500;
    console.log(
      `one commit of 3 sets at a time: ${perCommit.toFixed(2)} ms/commit ` +
        `(${(1000 / perCommit).toFixed(0)} commits/s)`,
    );
    console.log("commits of 800 sets, keys spread over N ranges (e.g. per-user indexes):");
    for (const users of [1, 10, 50, 200, 1000]) {
      const r = await perMutation(kv, users, 800, 60);
      console.log(
        `  N = ${String(users).padStart(4)}: ${r.msPerCommit.toFixed(2).padStart(6)} ms/commit, ` +
          `${r.usPerMutation.toFixed(1).padStart(5)} µs/set`,
      );
    }
  } finally {
    kv.close();
    if (!values.dir) await Deno.remove(dir, { recursive: true });
  }
}
