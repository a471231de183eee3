// (b) A card is declined; the resident tries again, changes their mind on
// the processor's page and cancels; then pays with a card that works.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, amountDue, chooseUtilities, continueToProcessor, lookUp, openStart, payFullAmount, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'declined-then-paid';
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const MAIN = { keyboard: true, reflow: true };

for (const js of [false, true]) {
  test(`a declined card, a cancelled payment, then a paid one (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await chooseUtilities(j, page);
      await lookUp(j, page, '2048-7781', '94112');
      assert.equal(await amountDue(page, 0), '$61.40');
      assert.equal(await amountDue(page, 1), '$58.95');

      await payFullAmount(j, page, 0);
      assert.equal((await summary(page))['Total to be charged'], '$62.94');
      await continueToProcessor(j, page);

      // Nothing typed: the processor's own error state.
      await page.getByRole('button', { name: /^Pay \$/ }).click();
      const empty = await j.step(page, 'processor page with nothing typed', { ...MAIN, status: 400, screenshot: 'processor-errors' });
      assert.match(empty.title, /^Error: /);
      const problems = page.getByRole('alert');
      for (const field of ['Card number', 'Expiry (MM/YY)', 'Security code', 'Name on card']) {
        const input = page.getByLabel(field, { exact: true });
        assert.equal(await input.getAttribute('aria-invalid'), 'true', `${field} is marked invalid`);
        const id = await input.getAttribute('id');
        assert.equal(await problems.locator(`a[href="#${id}"]`).count(), 1, `the summary links to ${field}`);
      }

      const declined = await payWithCard(j, page, CARDS.declined, 'declined', { screenshot: 'resident-declined' });
      assert.equal(declined.h1, 'Your payment was not taken');
      assert.match(declined.main, /declined/i);
      assert.match(declined.main, /You have not been charged/);

      await page.getByRole('link', { name: 'Try again' }).click();
      await j.step(page, 'bills after the decline', MAIN);
      assert.equal(await amountDue(page, 0), '$61.40', 'nothing was taken');
      await payFullAmount(j, page, 0);
      await continueToProcessor(j, page);
      await page.getByRole('button', { name: 'Cancel and return to the merchant' }).click();
      const cancelled = await j.step(page, 'back from the processor after cancelling', MAIN);
      assert.equal(cancelled.h1, 'Your payment was not taken');
      assert.match(cancelled.main, /You have not been charged/);

      await page.getByRole('link', { name: 'Try again' }).click();
      await j.step(page, 'bills after cancelling', MAIN);
      assert.equal(await amountDue(page, 0), '$61.40', 'nothing was taken');
      await payFullAmount(j, page, 0);
      await continueToProcessor(j, page);
      const paid = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(paid.h1, 'Payment received');
      assert.equal((await summary(page))['Total charged'], '$62.94');
    }));
}

test('declined, cancelled and paid look the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
