/**
 * Interleaves several async streams into one, each item as soon as its stream produces it (sub-agents
 * running concurrently). Ends when all have ended; the first stream to throw ends the merge with its
 * error and closes the others. Closing the merged stream early closes every stream still open.
 */
export async function* mergeStreams<T>(streams: AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const next = (i: number) => (iterators[i] as AsyncIterator<T>).next().then((result) => ({ i, result }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)] as const));
  try {
    while (pending.size > 0) {
      const { i, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      yield result.value;
    }
  } finally {
    for (const i of pending.keys()) void iterators[i]?.return?.()?.catch(() => {});
  }
}
