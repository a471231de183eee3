// (a) A guest pays a utilities bill in full, after a wrong ZIP code and a
// mistyped e-mail address.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, amountDue, chooseUtilities, continueToProcessor, lookUp, openStart, payFullAmount, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'guest-payment';
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

for (const js of [false, true]) {
  test(`a guest pays a bill in full (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page, { screenshot: 'resident-start' });
      await chooseUtilities(j, page);

      const wrong = await lookUp(j, page, '1002-3345', '94111', 'look-up with a wrong ZIP', { status: 400, screenshot: 'resident-lookup-error' });
      assert.match(wrong.title, /^Error: /, 'the title says there is an error');
      const summaryBox = page.getByRole('alert');
      await assert.doesNotReject(summaryBox.getByText('There is a problem').waitFor());
      const link = summaryBox.getByRole('link', { name: /We could not find a bill with that account number and ZIP code/ });
      const target = (await link.getAttribute('href')).slice(1);
      assert.equal(await page.locator(`[id="${target}"]`).count(), 1, 'the error summary links to a field on the page');
      assert.equal(await page.getByLabel('Account number').inputValue(), '1002-3345', 'what was typed is kept');

      await lookUp(j, page, '1002-3345', '94110', 'bills', { screenshot: 'resident-bill' });
      assert.equal(await amountDue(page), '$84.12');

      await payFullAmount(j, page, 0, { screenshot: 'resident-review' });
      const review = await summary(page);
      assert.equal(review.Payment, '$84.12');
      assert.match(review['Card convenience fee'], /^\$2\.10/);
      assert.equal(review['Total to be charged'], '$86.22');

      await page.getByLabel('E-mail address for your receipt (optional)').fill('maria at example');
      await page.getByRole('button', { name: 'Continue to secure payment' }).click();
      const badEmail = await j.step(page, 'review with a bad e-mail address', { status: 400, keyboard: true, reflow: true });
      assert.match(badEmail.title, /^Error: /);
      assert.equal(await page.getByLabel('E-mail address for your receipt (optional)').getAttribute('aria-invalid'), 'true');

      const card = await continueToProcessor(j, page, 'maria@example.com', { screenshot: 'processor-card' });
      assert.match(card.main, /\$86\.22/);

      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt', { screenshot: 'resident-receipt' });
      assert.equal(receipt.h1, 'Payment received');
      const paid = await summary(page);
      assert.equal(paid['Total charged'], '$86.22');
      assert.equal(paid['Paid with'], 'Visa ending 4242');
      assert.match(receipt.main, /We have e-mailed a copy of this receipt to m•••@example\.com/);
    }));
}

test('a guest payment looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
