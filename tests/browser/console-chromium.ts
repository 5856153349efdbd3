import type { Browser, BrowserContext } from "playwright-core";
import { buildConsole } from "./build-console.js";
import { launchChromium } from "./chromium.js";
import { type ConsoleStack, startConsoleStack } from "./console-stack.js";

export interface ConsoleInChromium<T> {
  stack: ConsoleStack;
  browser: Browser;
  context: BrowserContext;
  /** What `build` returned (the console build returns nothing). */
  built: T;
  /** Closes Chromium, then stops the stack. */
  stop(): Promise<void>;
}

/**
 * The setup the browser tests share: the stack from source and a page build in parallel (default: the
 * console), then Chromium with one context of the given viewport. If Chromium does not start, the
 * stack is stopped here, because the caller never gets a handle to stop it.
 */
export async function startConsoleInChromium<T = void>(options: {
  viewport: { width: number; height: number };
  stack?: Parameters<typeof startConsoleStack>[0];
  build?: () => Promise<T>;
}): Promise<ConsoleInChromium<T>> {
  const build = options.build ?? (buildConsole as () => Promise<T>);
  const [stack, built] = await Promise.all([startConsoleStack(options.stack), build()]);
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: options.viewport });
    const opened = browser;
    return {
      stack,
      browser: opened,
      context,
      built,
      async stop() {
        await opened.close();
        await stack.stop();
      },
    };
  } catch (error) {
    await browser?.close();
    await stack.stop();
    throw error;
  }
}
