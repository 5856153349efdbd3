/**
 * Runs several async iterables at once and yields their items as each one produces them (the order
 * of arrival): how an agent runs sub-agents concurrently and streams them into one run. Returns each
 * iterable's return value, in the order given. Closing the merged iterator closes every source.
 */
export async function* mergeStreams<T, R>(sources: AsyncIterator<T, R>[]): AsyncGenerator<T, R[], undefined> {
  const results: R[] = new Array(sources.length);
  const pending = new Map<number, Promise<{ index: number; next: IteratorResult<T, R> }>>();
  const pull = (index: number) => {
    const source = sources[index];
    if (source)
      pending.set(
        index,
        source.next().then((next) => ({ index, next })),
      );
  };
  for (let index = 0; index < sources.length; index++) pull(index);
  try {
    while (pending.size > 0) {
      const { index, next } = await Promise.race(pending.values());
      if (next.done) {
        pending.delete(index);
        results[index] = next.value;
        continue;
      }
      pull(index);
      yield next.value;
    }
    return results;
  } finally {
    // Left early (the consumer stopped, or one source threw): stop the others too.
    for (const index of pending.keys()) void sources[index]?.return?.(undefined as R)?.catch(() => {});
  }
}
