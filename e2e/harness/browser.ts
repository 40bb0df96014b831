/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// A real headless Chromium for the e2e suites (playwright-core drives it; the browser is the system's, as
// bootstrap installs it), and checks that run inside the page: accessible names of controls, text contrast
// from computed styles, and a MutationObserver that timestamps when a text first appears.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './env.js';

/** Where screenshots go (gitignored with the rest of .beastmode/). */
export const artifactsDir = (suite: string): string => {
  const dir = join(repoRoot, '.beastmode', 'e2e', 'artifacts', suite);
  mkdirSync(dir, { recursive: true });
  return dir;
};

export function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  // As root (CI containers) Chromium refuses to start with its sandbox.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath, args, headless: true });
}

/** Controls (buttons, links, inputs) with no accessible name: their outer HTML, for the failure message. */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const name = (el: Element): string => {
      const labelled = el.getAttribute('aria-labelledby');
      if (labelled)
        return labelled
          .split(' ')
          .map((id) => document.getElementById(id)?.textContent ?? '')
          .join(' ')
          .trim();
      const aria = el.getAttribute('aria-label');
      if (aria) return aria.trim();
      if (el instanceof HTMLInputElement) {
        const label = el.labels?.[0]?.textContent ?? '';
        return label.trim() || (el.getAttribute('title') ?? '');
      }
      return (el.textContent ?? '').trim() || (el.getAttribute('title') ?? '');
    };
    const visible = (el: Element): boolean => (el as HTMLElement).offsetParent !== null;
    return [...document.querySelectorAll('button, a[href], input, select, textarea, [role="img"]')]
      .filter((el) => visible(el) && name(el) === '')
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

export interface ContrastFinding {
  text: string;
  ratio: number;
}

/** WCAG contrast of each visible text element matching `selector` against its nearest opaque background. */
export function textContrast(page: Page, selector: string): Promise<ContrastFinding[]> {
  return page.evaluate((sel) => {
    const rgb = (c: string): number[] | undefined => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m?.[1]) return undefined;
      const p = m[1].split(',').map((x) => Number(x.trim()));
      return p.length === 4 && p[3] === 0 ? undefined : p.slice(0, 3);
    };
    const lum = ([r = 0, g = 0, b = 0]: number[]): number => {
      const f = (v: number): number => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c) return c;
      }
      return [255, 255, 255];
    };
    return [...document.querySelectorAll(sel)]
      .filter((el) => (el as HTMLElement).offsetParent !== null && (el.textContent ?? '').trim() !== '')
      .map((el) => {
        const fg = rgb(getComputedStyle(el).color) ?? [0, 0, 0];
        const a = lum(fg);
        const b = lum(background(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        return { text: (el.textContent ?? '').trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100 };
      });
  }, selector);
}

/**
 * Installs (once per page) a MutationObserver that records, per `selector` and text, the wall-clock time
 * the text first appeared in a matching element. Read it with `seenAt`.
 */
export async function watchTexts(page: Page, selector: string): Promise<void> {
  await page.evaluate((sel) => {
    const w = window as unknown as { __seen?: Record<string, number>; __watch?: Set<string> };
    w.__seen ??= {};
    w.__watch ??= new Set();
    if (w.__watch.has(sel)) return;
    w.__watch.add(sel);
    const seen = w.__seen;
    const check = (): void => {
      for (const el of document.querySelectorAll(sel)) {
        const k = `${sel}\u0000${(el.textContent ?? '').trim()}`;
        seen[k] ??= Date.now();
      }
    };
    new MutationObserver(check).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
    check();
  }, selector);
}

/** When `text` was first seen in `selector` (see watchTexts); undefined when not yet. */
export function seenAt(page: Page, selector: string, text: string): Promise<number | undefined> {
  return page.evaluate(
    ([sel, t]) => (window as unknown as { __seen?: Record<string, number> }).__seen?.[`${sel}\u0000${t}`],
    [selector, text] as const,
  );
}

/** Every text seen in `selector`, in the order first seen. */
export function textsSeen(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const seen = (window as unknown as { __seen?: Record<string, number> }).__seen ?? {};
    return Object.entries(seen)
      .filter(([k]) => k.startsWith(`${sel}\u0000`))
      .sort((a, b) => a[1] - b[1])
      .map(([k]) => k.slice(sel.length + 1));
  }, selector);
}
