/**
 * scripts/check_folder_cycles.ts, run as `deno task check` and CI run it: it
 * fails on a tree whose folders import each other in a circle, naming the
 * circle and the imports that make it, and passes on src/.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const CHECKER = new URL("../scripts/check_folder_cycles.ts", import.meta.url).pathname;

async function checkFolders(root: string): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--allow-read", "--allow-run=deno", CHECKER, root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, source] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, source);
  }
}

Deno.test("check_folder_cycles fails on folders that import each other in a circle", async () => {
  await using dir = await tempDir("parley-cycles-");
  const root = dir.path;
  await writeTree(root, {
    "a/x.ts": `import { y } from "../b/y.ts";\nexport const x = y;\n`,
    // A type-only import counts: the folders still cannot be read apart.
    "b/y.ts": `import type { Z } from "../c/z.ts";\nexport const y: Z = 1;\n`,
    // So does a dynamic import with a literal specifier.
    "c/z.ts": `export type Z = number;\nexport const load = () => import("../a/w.ts");\n`,
    // An import in a comment is no import: root.ts <-> a/ would be a second cycle.
    "a/w.ts": `// import { main } from "../root.ts";\nexport const w = 1;\n`,
    "root.ts": `import { x } from "./a/x.ts";\nexport const main = x;\n`,
    "d/free.ts": `import { w } from "../a/w.ts";\nexport const free = w;\n`,
  });
  const { code, output } = await checkFolders(root);
  assertEquals(code, 1, output);
  assert(output.includes("cycle: a/ -> b/ -> c/ -> a/"), output);
  assert(output.includes("a/x.ts imports b/y.ts"), output);
  assert(output.includes("b/y.ts imports c/z.ts"), output);
  assert(output.includes("c/z.ts imports a/w.ts"), output);
  assert(!output.includes("root.ts") && !output.includes("d/"), output);

  // Breaking one edge of the circle makes the tree pass.
  await Deno.writeTextFile(`${root}/c/z.ts`, `export type Z = number;\n`);
  const fixed = await checkFolders(root);
  assertEquals(fixed.code, 0, fixed.output);
});

Deno.test("check_folder_cycles passes on src/", async () => {
  const { code, output } = await checkFolders(new URL("../src", import.meta.url).pathname);
  assertEquals(code, 0, output);
  assert(output.includes("No import cycles"), output);
});
