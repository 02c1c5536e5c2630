/** A temporary directory, removed with everything in it when its `await using` scope ends. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
