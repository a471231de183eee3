// Keyboard-only and reflow checks, run on the journey's own page (no script
// of ours runs in it: Playwright reads the DOM and styles from outside, and
// presses real keys).

import assert from 'node:assert/strict';

/**
 * Tab from the top of the page until focus leaves it or comes round again:
 * the first stop is "Skip to main content"; every link, field and button is
 * reached (one stop per radio group, as browsers do); each stop is visibly
 * different when focused (outline, box-shadow or background) and on screen;
 * and following the skip link sends the next Tab into <main>. The
 * processor's page has no skip link (nothing but a one-line banner comes
 * before its form): pass `skipLink: false` there; on a page in another
 * language pass the skip link's text.
 */
export async function checkKeyboard(page, label, { skipLink = true } = {}) {
  const skipText = skipLink === true ? 'Skip to main content' : skipLink;
  await page.evaluate(() => {
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    window.scrollTo(0, 0);
  });
  const focusables = await page.evaluateHandle(() => {
    const candidates = document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])',
    );
    return [...candidates].filter((el) => !el.disabled && el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== 'hidden');
  });
  // Helpers that live in the page, passed to each evaluation as a handle
  // (the pages' CSP forbids eval, so no source strings).
  const helpers = await page.evaluateHandle(() => ({
    styleOf(el) {
      const s = getComputedStyle(el);
      return {
        outline: s.outlineStyle === 'none' || parseFloat(s.outlineWidth) === 0 ? 'none' : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
        boxShadow: s.boxShadow,
        background: s.backgroundColor,
      };
    },
    describe(el) {
      const name = el.getAttribute('aria-label') || el.labels?.[0]?.innerText || el.innerText || el.value || el.name || '';
      return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.type ? ` type=${el.type}` : ''}> "${name.replace(/\s+/g, ' ').trim().slice(0, 50)}"`;
    },
  }));
  const inventory = await page.evaluate(
    ([list, h]) => list.map((el) => ({
      what: h.describe(el),
      group: el.type === 'radio' ? `radio:${el.form ? [...document.forms].indexOf(el.form) : ''}:${el.name}` : null,
      unfocused: h.styleOf(el),
    })),
    [focusables, helpers],
  );
  assert.ok(inventory.length > 0, `${label}: the page has something to focus`);

  const stops = [];
  for (let i = 0; i < inventory.length + 5; i++) {
    await page.keyboard.press('Tab');
    const stop = await page.evaluate(
      ([list, h]) => {
        const el = document.activeElement;
        if (!el || el === document.body || el === document.documentElement) return null;
        const r = el.getBoundingClientRect();
        return {
          index: list.indexOf(el),
          what: h.describe(el),
          focused: h.styleOf(el),
          onScreen: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0
            && r.left < window.innerWidth && r.top < window.innerHeight,
        };
      },
      [focusables, helpers],
    );
    if (!stop || (stops.length > 0 && stop.index === stops[0].index)) break;
    stops.push(stop);
  }

  assert.ok(stops.length > 0, `${label}: Tab reaches nothing`);
  if (skipLink) {
    assert.ok(stops[0].what.includes(`"${skipText}"`), `${label}: the first Tab stop is the skip link, not ${stops[0].what}`);
  }
  const reached = new Set(stops.map((s) => s.index));
  const reachedGroups = new Set([...reached].map((i) => inventory[i]?.group).filter(Boolean));
  const missed = inventory.filter((item, i) => !reached.has(i) && !(item.group && reachedGroups.has(item.group)));
  assert.deepEqual(missed.map((m) => m.what), [], `${label}: Tab does not reach these`);
  const strays = stops.filter((s) => s.index < 0).map((s) => s.what);
  assert.deepEqual(strays, [], `${label}: Tab stops on elements that are not links, fields or buttons`);
  for (const s of stops) {
    const before = inventory[s.index].unfocused;
    const visible = (s.focused.outline !== 'none' && s.focused.outline !== before.outline)
      || s.focused.boxShadow !== before.boxShadow
      || s.focused.background !== before.background;
    assert.ok(visible, `${label}: no visible focus on ${s.what} (focused ${JSON.stringify(s.focused)}, unfocused ${JSON.stringify(before)})`);
    assert.ok(s.onScreen, `${label}: ${s.what} is focused off screen`);
  }

  if (skipLink) await followSkipLink(page, label, focusables, skipText);
}

/**
 * Focus the skip link and follow it: the next Tab lands on the first stop
 * at or after the start of <main> (inside it, unless <main> has nothing to
 * focus).
 */
async function followSkipLink(page, label, focusables, skipText) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  await page.keyboard.press('Tab');
  const onSkipLink = await page.evaluate(() => document.activeElement?.textContent.trim());
  assert.equal(onSkipLink, skipText, `${label}: Tab from the top focuses the skip link`);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.hash === '#main', { timeout: 5000 }).catch(() => {});
  assert.equal(new URL(page.url()).hash, '#main', `${label}: the skip link goes to #main`);
  await page.keyboard.press('Tab');
  const result = await page.evaluate((list) => {
    const main = document.querySelector('main#main');
    if (!main) return { main: false };
    const expected = list.find((el) => main.contains(el)
      || (main.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)) ?? null;
    return { main: true, expected: expected?.outerHTML.slice(0, 80) ?? null, ok: expected === null || document.activeElement === expected, got: document.activeElement?.outerHTML.slice(0, 80) };
  }, focusables);
  assert.ok(result.main, `${label}: the page has <main id="main">`);
  assert.ok(result.ok, `${label}: after the skip link, Tab should reach ${result.expected}, got ${result.got}`);
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
}

/**
 * Reflow (WCAG 1.4.10): at 640 and 320 CSS pixels wide (200 % and 400 %
 * zoom of a 1280-pixel window) the page does not scroll sideways and
 * nothing sticks out of it, except inside a scrolling container of its own
 * (a wide data table).
 */
export async function checkReflow(page, label, viewport, widths = [640, 320]) {
  for (const width of widths) {
    await page.setViewportSize({ width, height: 800 });
    const overflow = await page.evaluate(() => {
      const vw = document.documentElement.clientWidth;
      const out = [];
      if (document.documentElement.scrollWidth > vw) out.push(`the page is ${document.documentElement.scrollWidth} px wide`);
      // A data table may scroll inside its own container (WCAG 1.4.10
      // allows it for two-dimensional content); the container must fit.
      const scrollsInside = (el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true;
        }
        return false;
      };
      // Text for screen readers only, in a 1-pixel clipped box.
      const visuallyHidden = (node) => {
        for (let a = node.parentElement; a && a !== document.body; a = a.parentElement) {
          if (a.getBoundingClientRect().width <= 1) return true;
        }
        return false;
      };
      for (const el of document.body.querySelectorAll('*')) {
        if (scrollsInside(el)) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || r.right <= 0) continue; // hidden, or parked off screen to the left
        if (r.right > vw + 0.5) {
          out.push(`<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}> ends at ${Math.round(r.right)} px`);
        }
      }
      // Text can stick out of a box that fits (a long word that does not wrap).
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim() || scrollsInside(node) || visuallyHidden(node)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        if (r.width > 0 && r.right > 0 && r.right > vw + 0.5) {
          out.push(`text "${node.textContent.trim().slice(0, 40)}" ends at ${Math.round(r.right)} px`);
        }
      }
      return out;
    });
    assert.deepEqual(overflow, [], `${label}: content overflows sideways at ${width} CSS px`);
  }
  await page.setViewportSize(viewport);
}
