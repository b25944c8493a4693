import type { Locator } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Waiting assertions for the browser tests. playwright-core has no `expect` of its own, and a
 * one-shot read (`isVisible()`, `textContent()`, `count()`) right after an action depends on how
 * fast Chromium renders: these poll until the condition holds or the timeout passes.
 */
const TIMEOUT_MS = 10_000;

/** Polls the element's text: `await textOf(locator).toBe('pending')`. */
export function textOf(locator: Locator, timeout = TIMEOUT_MS) {
  return expect.poll(() => locator.textContent(), { timeout });
}

/** Polls the element's text parsed as JSON (text still being rendered reads as undefined). */
export function jsonOf(locator: Locator, timeout = TIMEOUT_MS) {
  return expect.poll(
    async () => {
      try {
        return JSON.parse((await locator.textContent()) ?? '') as unknown;
      } catch {
        return undefined;
      }
    },
    { timeout },
  );
}

/** Polls how many elements match: `await countOf(buttons).toBe(0)`. */
export function countOf(locator: Locator, timeout = TIMEOUT_MS) {
  return expect.poll(() => locator.count(), { timeout });
}

/** Resolves once the element is visible; fails after the timeout. */
export async function shown(locator: Locator, timeout = TIMEOUT_MS): Promise<void> {
  await locator.waitFor({ state: 'visible', timeout });
}

/** Resolves once the element is hidden or gone; fails after the timeout. */
export async function hidden(locator: Locator, timeout = TIMEOUT_MS): Promise<void> {
  await locator.waitFor({ state: 'hidden', timeout });
}
