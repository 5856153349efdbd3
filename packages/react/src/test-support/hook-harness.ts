import { act, createElement } from "react";
import { createRoot, type Root } from "react-dom/client";

// Renders hooks in real React roots (happy-dom) for the hook tests: one copy of the probe, the
// act()-wrapped render and the settle loop, so both hook tests drive React the same way.

// Tells React this is a test environment, so act() flushes updates and warns about any outside it.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const mounted = new Set<Root>();

interface ProbeProps<Arg, Result> {
  useHook: (arg: Arg) => Result;
  arg: Arg;
  result: { current?: Result };
}

function Probe<Arg, Result>({ useHook, arg, result }: ProbeProps<Arg, Result>) {
  result.current = useHook(arg);
  return null;
}

/**
 * Mounts `useHook(arg)` in a fresh root: `render(arg)` (re)renders it, `result.current` is its latest
 * value, `unmount()` takes it down early (afterEach's `unmountHooks` does it otherwise).
 */
export function mountHook<Arg, Result>(useHook: (arg: Arg) => Result) {
  const result: { current?: Result } = {};
  const root = createRoot(document.createElement("div"));
  mounted.add(root);
  const render = (arg: Arg) =>
    act(async () => root.render(createElement(Probe<Arg, Result>, { useHook, arg, result })));
  const unmount = async () => {
    mounted.delete(root);
    await act(async () => root.unmount());
  };
  return { result, render, unmount };
}

/** Unmounts every root `mountHook` made (call in afterEach, before closing what the hooks talk to). */
export async function unmountHooks(): Promise<void> {
  const roots = [...mounted];
  mounted.clear();
  await act(async () => {
    for (const root of roots) root.unmount();
  });
}

/** Lets React and the network run, 10 ms at a time, until `condition` holds; fails after 5 s naming `what`. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
    });
  }
}
