// in-parallel.ts - run `f` over `items` with at most `n` calls in flight;
// rejects with the first failure (the calls already started finish).
export async function inParallel<T>(items: readonly T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}
