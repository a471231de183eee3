// (d) A resident pays a parking citation: a department the demo adds by
// configuration alone, found by citation number and the plate with its
// state (a list), after a number in the wrong format and a missing state.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, amountDue, continueToProcessor, openStart, payFullAmount, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'parking-citation';
const MAIN = { keyboard: true, reflow: true };
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function lookUpCitation(j, page, number, plate, state, label, opts = {}) {
  await page.getByLabel('Citation number').fill(number);
  await page.getByLabel('Licence plate').fill(plate);
  await page.getByLabel('State of the plate').selectOption(state);
  await page.getByRole('button', { name: 'Find my bill' }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

async function fieldError(page, label) {
  const field = page.getByLabel(label);
  assert.equal(await field.getAttribute('aria-invalid'), 'true', `${label} is marked invalid`);
  const describedBy = (await field.getAttribute('aria-describedby')).split(' ');
  const id = describedBy.find((d) => d.endsWith('-error'));
  assert.ok(id, `${label} is described by its error`);
  return page.locator(`[id="${id}"]`).innerText();
}

for (const js of [false, true]) {
  test(`a resident pays a parking citation (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await page.getByRole('link', { name: 'Pay a parking citations bill' }).click();
      const form = await j.step(page, 'citation look-up form', { ...MAIN, screenshot: 'resident-parking-lookup' });
      assert.equal(form.h1, 'Pay a parking citations bill');
      assert.match(form.main, /Printed at the top of the ticket/);

      const wrongFormat = await lookUpCitation(j, page, '2026001', '7ABC123', 'CA', 'look-up with a number in the wrong format', { status: 400 });
      assert.match(wrongFormat.title, /^Error: /);
      assert.match(await fieldError(page, 'Citation number'), /like PK-1234567/);

      const noState = await lookUpCitation(j, page, 'PK-2026001', '7abc 123', '', 'look-up without the state', { status: 400 });
      assert.match(await fieldError(page, 'State of the plate'), /choose the state the plate is from/);
      assert.equal(await page.getByLabel('Licence plate').inputValue(), '7abc 123', 'what was typed is kept');

      await lookUpCitation(j, page, 'PK-2026001', '7abc 123', 'CA', 'citation');
      assert.equal(await amountDue(page), '$65.00');
      assert.equal(await page.getByRole('radio', { name: 'Another amount' }).count(), 0, 'a citation is paid in full');

      await payFullAmount(j, page);
      const review = await summary(page);
      assert.equal(review.Payment, '$65.00');
      assert.match(review['Card convenience fee'], /^\$1\.50/);
      assert.equal(review['Total to be charged'], '$66.50');
      await continueToProcessor(j, page);
      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(receipt.h1, 'Payment received');
      assert.equal((await summary(page))['Total charged'], '$66.50');
    }));
}

test('a parking citation payment looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
