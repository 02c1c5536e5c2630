/**
 * Summarizes a V8 `.cpuprofile` (from `deno run --cpu-prof`, or `bench/main.ts
 * --profile`): self time per function and per package/file, heaviest first.
 *
 *   deno run -A bench/profile_summary.ts <file.cpuprofile> [--top 30]
 */
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Groups a script URL by npm package, or by file inside this repository. */
function area(url: string): string {
  if (!url) return "(native / runtime)";
  const npm = url.match(/node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/) ??
    url.match(/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)/);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("ext:") || url.startsWith("node:")) return url.split("/")[0]!;
  const repo = url.match(/\/(src|bench|tests)\/.*$/);
  return repo ? repo[0].slice(1) : url;
}

export function summarizeProfile(profile: CpuProfile, top = 30): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = profile.endTime - profile.startTime;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = `${functionName || "(anonymous)"} ${area(url)}:${lineNumber + 1}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = functionName === "(idle)" ? "(idle)" : area(url);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const lines = [`profile: ${(total / 1e6).toFixed(1)} s of wall time`, "", "by area:"];
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${a}`);
  }
  lines.push("", "by function (self time):");
  for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    lines.push(`  ${pct(us)}  ${f}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "30" } },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    console.error("usage: deno run -A bench/profile_summary.ts <file.cpuprofile> [--top N]");
    Deno.exit(2);
  }
  for (const file of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
    console.log(summarizeProfile(profile, Number(values.top)));
  }
}
