/** A bounded set of recently seen event ids: the last line of defence against a duplicate after a resume. */
export interface RecentIds {
  /** Records the id; false when it was already seen. */
  add(id: string): boolean;
}

export function createRecentIds(capacity = 2048): RecentIds {
  const ids = new Set<string>();
  return {
    add(id) {
      if (ids.has(id)) return false;
      ids.add(id);
      if (ids.size > capacity) ids.delete(ids.values().next().value as string);
      return true;
    },
  };
}
