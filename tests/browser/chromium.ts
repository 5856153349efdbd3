import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { testEnv } from "@threadline/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "./console-stack.js";

export const ARTIFACTS = join(REPO_ROOT, "test-artifacts", "browser");

/**
 * Debian's Chromium, headless, with nothing that reaches for the network (this machine has none) and a
 * fresh temporary profile (playwright's default for `launch`).
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: testEnv().CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      ...extraArgs,
    ],
  });
}

/**
 * Every console error and uncaught exception of a page, with the time it happened — except the
 * documented answer of a stack without the archive: `GET /v1/threads` → 503 ARCHIVE_DISABLED, which
 * the console's thread list turns into a hint (console-history.test.ts checks that hint).
 */
export function collectErrors(page: Page): { at: number; text: string }[] {
  const errors: { at: number; text: string }[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const url = message.location().url ?? "";
    if (message.text().includes("status of 503") && /\/v1\/threads(\?|$)/.test(url)) return;
    errors.push({ at: Date.now(), text: message.text() });
  });
  page.on("pageerror", (error) => errors.push({ at: Date.now(), text: `uncaught: ${error.message}` }));
  return errors;
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
