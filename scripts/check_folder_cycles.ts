/**
 * Fails when the folders of a source tree import each other in a circle.
 *
 * Each direct subfolder of the root is one node, and so is each file lying directly in the
 * root (`server.ts`, `config.ts`, …); an import from a file in node A of a file in node B is an
 * edge A → B. A cycle means two folders can only be understood (and changed) together, so
 * the layers the README describes have quietly merged. The import graph comes from
 * `deno info --json`, so type-only, re-exported and literal dynamic imports all count, and
 * imports in comments do not.
 *
 * ```sh
 * deno run --allow-read --allow-run=deno scripts/check_folder_cycles.ts [root, default src]
 * ```
 *
 * Exits 0 when there is no cycle; otherwise prints each cycle with one import per edge and
 * exits 1.
 */

import { relative, resolve, sep as SEPARATOR } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

/** One import that makes an edge between two folders, kept to show where a cycle comes from. */
interface Edge {
  from: string;
  to: string;
  /** The importing and the imported file, relative to the root. */
  example: { importer: string; imported: string };
}

interface ModuleInfo {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

const SOURCE_FILE = /\.(ts|tsx|mts|js|jsx|mjs)$/;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${SEPARATOR}${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.isFile && SOURCE_FILE.test(entry.name)) yield path;
  }
}

async function moduleGraph(entry: string): Promise<ModuleInfo[]> {
  const output = await new Deno.Command("deno", {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `deno info --json ${entry} failed:\n${new TextDecoder().decode(output.stderr)}`,
    );
  }
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: ModuleInfo[] };
  return graph.modules;
}

/** The node a file belongs to: its top folder under the root, or its own name at the root. */
function nodeOf(root: string, file: string): string | undefined {
  const path = relative(root, file);
  if (path.startsWith("..")) return undefined;
  const [first] = path.split(SEPARATOR);
  return path.includes(SEPARATOR) ? `${first}/` : first;
}

/** Every folder-to-folder edge, found from as few `deno info` runs as cover all files. */
async function folderEdges(root: string): Promise<Map<string, Map<string, Edge>>> {
  const edges = new Map<string, Map<string, Edge>>();
  const seen = new Set<string>();
  const files: string[] = [];
  for await (const file of sourceFiles(root)) files.push(file);
  files.sort();
  for (const file of files) {
    if (seen.has(file)) continue;
    for (const module of await moduleGraph(file)) {
      if (!module.specifier.startsWith("file:")) continue;
      const importer = fromFileUrl(module.specifier);
      if (seen.has(importer)) continue;
      seen.add(importer);
      const from = nodeOf(root, importer);
      if (from === undefined) continue;
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
          if (!target?.startsWith("file:")) continue;
          const imported = fromFileUrl(target);
          const to = nodeOf(root, imported);
          if (to === undefined || to === from) continue;
          const out = edges.get(from) ?? new Map<string, Edge>();
          edges.set(from, out);
          if (!out.has(to)) {
            out.set(to, {
              from,
              to,
              example: { importer: relative(root, importer), imported: relative(root, imported) },
            });
          }
        }
      }
    }
  }
  return edges;
}

const byTarget = (a: Edge, b: Edge) => a.to < b.to ? -1 : a.to > b.to ? 1 : 0;

/** Strongly connected components with more than one node (Tarjan's algorithm). */
function tangledGroups(edges: Map<string, Map<string, Edge>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of [...(edges.get(node)?.keys() ?? [])].sort()) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return groups;
}

/** The shortest cycle through `start` inside one group, found breadth first. */
function shortestCycle(
  edges: Map<string, Map<string, Edge>>,
  group: string[],
  start: string,
): Edge[] {
  const members = new Set(group);
  const cameBy = new Map<string, Edge>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (
      const edge of [...(edges.get(node)?.values() ?? [])].sort(byTarget)
    ) {
      if (!members.has(edge.to) || cameBy.has(edge.to)) continue;
      cameBy.set(edge.to, edge);
      if (edge.to === start) {
        const path = [edge];
        while (path[0]!.from !== start) path.unshift(cameBy.get(path[0]!.from)!);
        return path;
      }
      queue.push(edge.to);
    }
  }
  throw new Error(`no cycle through ${start}`);
}

if (import.meta.main) {
  const root = resolve(Deno.args[0] ?? "src");
  const shown = relative(Deno.cwd(), root).startsWith("..") ? root : relative(Deno.cwd(), root);
  const edges = await folderEdges(root);
  const groups = tangledGroups(edges);
  if (groups.length === 0) {
    console.log(`No import cycles between the folders of ${shown || "."}.`);
    Deno.exit(0);
  }
  console.error(`Import cycles between the folders of ${shown || "."}:`);
  for (const group of groups) {
    const cycle = shortestCycle(edges, group, group[0]!);
    console.error(`\n  cycle: ${[...cycle.map((edge) => edge.from), group[0]].join(" -> ")}`);
    for (const edge of cycle) {
      console.error(`    ${edge.example.importer} imports ${edge.example.imported}`);
    }
    if (group.length > cycle.length) {
      // One cycle hides the others: list every import that keeps the group tangled.
      console.error(`  tangled together: ${group.join(", ")}, by these imports:`);
      for (const from of group) {
        for (const edge of [...(edges.get(from)?.values() ?? [])].sort(byTarget)) {
          if (group.includes(edge.to)) {
            console.error(`    ${edge.example.importer} imports ${edge.example.imported}`);
          }
        }
      }
    }
  }
  Deno.exit(1);
}
