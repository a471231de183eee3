// (c) A resident pays part of a bill, after two amounts the bill refuses;
// the bill then shows what is left to pay.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, amountDue, bill, chooseUtilities, continueToProcessor, lookUp, openStart, payAnotherAmount, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'partial-payment';
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function assertAmountError(page, seen, message) {
  assert.match(seen.title, /^Error: /);
  const amount = bill(page).getByLabel('Amount in dollars');
  assert.equal(await amount.getAttribute('aria-invalid'), 'true');
  const id = await amount.getAttribute('id');
  const link = page.getByRole('alert').locator(`a[href="#${id}"]`);
  assert.match(await link.innerText(), message, 'the error summary links to the amount');
  const describedBy = (await amount.getAttribute('aria-describedby')).split(' ');
  const errorText = await page.locator(`[id="${describedBy.find((d) => d.endsWith('-error'))}"]`).innerText();
  assert.match(errorText, message, 'the message beside the field is tied to it');
  assert.ok(await bill(page).getByRole('radio', { name: 'Another amount' }).isChecked(), 'the choice is kept');
}

for (const js of [false, true]) {
  test(`a resident pays part of a bill (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await chooseUtilities(j, page);
      await lookUp(j, page, '1002-3345', '94110');
      assert.equal(await amountDue(page), '$84.12');

      const notMoney = await payAnotherAmount(j, page, '12,5O', 'bills with an amount that is not money', { status: 400 });
      await assertAmountError(page, notMoney, /dollars and cents/);
      const tooMuch = await payAnotherAmount(j, page, '100.00', 'bills with more than is due', { status: 400 });
      await assertAmountError(page, tooMuch, /\$84\.12/);

      await payAnotherAmount(j, page, '20.00', 'review');
      const review = await summary(page);
      assert.equal(review.Payment, '$20.00');
      assert.match(review['Card convenience fee'], /^\$1\.00/, 'the minimum fee');
      assert.equal(review['Total to be charged'], '$21.00');
      await continueToProcessor(j, page);
      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(receipt.h1, 'Payment received');
      assert.equal((await summary(page))['Total charged'], '$21.00');

      await page.getByRole('link', { name: 'Pay another bill' }).click();
      await j.step(page, 'start page again', { keyboard: true, reflow: true });
      await chooseUtilities(j, page);
      await lookUp(j, page, '1002-3345', '94110', 'bills after paying part');
      const after = await summary(page);
      assert.equal(after['Paid so far'], '$20.00');
      assert.equal(await amountDue(page), '$64.12');
      assert.ok(await bill(page).getByRole('radio', { name: 'The full amount due, $64.12' }).isVisible());
    }));
}

test('a partial payment looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
