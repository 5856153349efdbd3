/** A push-to-pull bridge: producers push, one consumer iterates. Ending or failing wakes a waiting consumer. */
export interface AsyncQueue<T> {
  push(value: T): void;
  end(): void;
  fail(error: unknown): void;
  /** Called once when the consumer stops (break, return, or the queue ended). */
  iterate(onStop: () => void): AsyncGenerator<T, void, undefined>;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const buffer: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  return {
    push(value) {
      if (done) return;
      buffer.push(value);
      notify();
    },
    end() {
      done = true;
      notify();
    },
    fail(error) {
      if (done) return;
      failure = { error };
      done = true;
      notify();
    },
    async *iterate(onStop) {
      try {
        for (;;) {
          if (buffer.length > 0) {
            yield buffer.shift() as T;
            continue;
          }
          if (failure) throw failure.error;
          if (done) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        done = true;
        onStop();
      }
    },
  };
}
