// axe-core on a copy of a page.
//
// Our pages allow no script at all (CSP script-src 'none') and half of the
// journeys run with JavaScript disabled, so axe cannot run in the journey's
// own page without weakening what that page is there to prove. Instead the
// page's current DOM is served, at the page's own URL, to a separate
// JavaScript-enabled page that bypasses CSP; its stylesheets load from the
// real server, and the viewport is the same, so axe sees the same page in
// the same state (error messages, typed values the server sent back) without
// the form being submitted again.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Copies `page` into `auditPage`, runs axe there, returns its violations. */
export async function auditWithAxe(auditPage, page) {
  const html = await page.content();
  const target = new URL(page.url());
  target.hash = '';
  await auditPage.setViewportSize(page.viewportSize());
  const matches = (u) => {
    const candidate = new URL(u.href);
    candidate.hash = '';
    return candidate.href === target.href;
  };
  await auditPage.route(matches, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
  { times: 1 });
  try {
    await auditPage.goto(target.href, { waitUntil: 'load' });
  } finally {
    await auditPage.unroute(matches);
  }
  await auditPage.addScriptTag({ content: AXE_SOURCE });
  const result = await auditPage.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
  }));
}
