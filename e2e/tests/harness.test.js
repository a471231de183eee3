// The checks themselves: each one, shown a page broken in the way it looks
// for, must fail. The breakage is injected into a real cityteller page in
// the browser (the response is rewritten on its way in), keeping the
// server's own headers, CSP included.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { startCityteller } from '../lib/cityteller.js';
import { Journey } from '../lib/journey.js';

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startCityteller();
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

/**
 * Opens the start page with `edit` applied to its HTML (and `extra` routes
 * for same-origin files the edit refers to), then runs the journey's step
 * with `opts`.
 */
async function stepOnBrokenStartPage(js, edit, opts = {}, extra = {}) {
  const j = new Journey(browser, server, 'harness', js);
  await j.open();
  try {
    const page = await j.newPage('tester');
    const start = server.publicUrl;
    await page.route(start, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: edit(await response.text()) });
    });
    for (const [path, { contentType, body }] of Object.entries(extra)) {
      await page.route(new URL(path, start).href, (route) => route.fulfill({ status: 200, contentType, body }));
    }
    // Anything addressed elsewhere never leaves the machine.
    await page.route((u) => !server.origins.includes(u.origin), (route) => route.abort());
    await page.goto(start);
    await j.step(page, 'broken start page', opts);
  } finally {
    await j.close();
  }
}

const inMain = (html, extra) => html.replace('<main id="main">', `<main id="main">${extra}`);

for (const js of [false, true]) {
  describe(`the checks fail on broken pages (JavaScript ${js ? 'on' : 'off'})`, () => {
    test('an unbroken page passes every check', () =>
      stepOnBrokenStartPage(js, (html) => html, { keyboard: true, reflow: true }));

    test('an inline script is a CSP violation', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => inMain(html, '<p style="font-weight:bold">styled</p><script>document.title = "x"</script>')),
        /Content Security Policy/,
      ));

    test('a request to another origin is caught', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => html.replace('</head>', '<link rel="stylesheet" href="http://cdn.e2e.invalid/x.css"></head>')),
        /request to another origin: GET http:\/\/cdn\.e2e\.invalid\/x\.css/,
      ));

    test('a missing image is a console error', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => inMain(html, '<img src="/static/missing.png" alt="">')),
        /console error: Failed to load resource: the server responded with a status of 404/,
      ));

    test('a field without a label is an axe violation', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => inMain(html, '<form><input type="text" name="q"></form>')),
        /axe-core found accessibility problems:\n- label /,
      ));

    test('a page not in English is caught', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => html.replace('<html lang="en">', '<html lang="fr">')),
        /<html lang="en">/,
      ));

    test('an invisible focus is caught', () =>
      assert.rejects(
        stepOnBrokenStartPage(
          js,
          (html) => html.replace('</head>', '<link rel="stylesheet" href="/static/no-focus.css"></head>'),
          { keyboard: true },
          { '/static/no-focus.css': { contentType: 'text/css', body: 'main a:focus{outline:none!important;box-shadow:none!important;background:none!important}' } },
        ),
        /no visible focus on <a> "Pay a (parking citations|utilities) bill"/,
      ));

    test('a link that Tab cannot reach is caught', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => inMain(html, '<p><a href="/" tabindex="-1">Home</a></p>'), { keyboard: true }),
        /Tab does not reach these/,
      ));

    test('content wider than 320 CSS pixels is caught', () =>
      assert.rejects(
        stepOnBrokenStartPage(js, (html) => inMain(html, `<pre>${'x'.repeat(120)}</pre>`), { reflow: true }),
        /content overflows sideways at (640|320) CSS px/,
      ));
  });
}

test('a page that went unchecked is caught', async () => {
  const j = new Journey(browser, server, 'harness', false);
  await j.open();
  try {
    const page = await j.newPage('tester');
    await page.goto(server.publicUrl);
    await page.getByRole('link', { name: 'Pay a utilities bill' }).click();
    await assert.rejects(j.step(page, 'look-up form'), /expected exactly one page load since the last check/);
  } finally {
    await j.close();
  }
});
