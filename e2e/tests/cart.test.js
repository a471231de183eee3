// (e) A resident pays a utility bill and a parking citation together: each
// goes into the cart from its own department's page ("Add to cart"), one is
// taken out and put back, and the cart is paid with one card payment, each
// department's convenience fee itemised, and one receipt.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, bill, chooseUtilities, continueToProcessor, lookUp, openStart, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'cart';
const MAIN = { keyboard: true, reflow: true };
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function addToCart(j, page, label, opts = {}) {
  await bill(page, 0).getByRole('button', { name: 'Add to cart' }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

async function findCitation(j, page) {
  await page.getByRole('link', { name: 'Add a bill from another department' }).click();
  await j.step(page, 'start page from the cart', MAIN);
  await page.getByRole('link', { name: 'Pay a parking citations bill' }).click();
  await j.step(page, 'citation look-up form', MAIN);
  await page.getByLabel('Citation number').fill('PK-2026001');
  await page.getByLabel('Licence plate').fill('7abc 123');
  await page.getByLabel('State of the plate').selectOption('CA');
  await page.getByRole('button', { name: 'Find my bill' }).click();
  return j.step(page, 'citation', MAIN);
}

for (const js of [false, true]) {
  test(`a resident pays two departments' bills together (JavaScript ${js ? 'on' : 'off'})`, { timeout: 150_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await chooseUtilities(j, page);
      await lookUp(j, page, '1002-3345', '94110');
      const first = await addToCart(j, page, 'cart with the utility bill');
      assert.equal(first.h1, 'Your cart');
      assert.match(first.main, /Utilities bill UT-/);

      await findCitation(j, page);
      const both = await addToCart(j, page, 'cart with both bills', { screenshot: 'resident-cart' });
      assert.match(both.main, /Parking citations bill PK-/);
      assert.equal((await summary(page))['Total of the bills'], '$149.12');

      // Taken out, then put back.
      await page.getByRole('button', { name: /^Remove Parking citations bill / }).click();
      const one = await j.step(page, 'cart after removing the citation', MAIN);
      assert.doesNotMatch(one.main, /Parking citations bill/);
      await findCitation(j, page);
      await addToCart(j, page, 'cart with both bills again');

      await page.getByRole('button', { name: 'Check out' }).click();
      const review = await j.step(page, 'review of the cart', { ...MAIN, screenshot: 'resident-cart-review' });
      assert.equal(review.h1, 'Check your payment');
      const quoted = await summary(page);
      assert.match(quoted['Card convenience fee (Utilities)'], /^\$2\.10/);
      assert.match(quoted['Card convenience fee (Parking citations)'], /^\$1\.50/);
      assert.equal(quoted.Payment, '$149.12');
      assert.equal(quoted['Total to be charged'], '$152.72');
      assert.equal(await page.getByRole('link', { name: 'Change your cart' }).getAttribute('href'), '/cart');

      const card = await continueToProcessor(j, page, 'maria@example.com');
      assert.match(card.main, /\$152\.72/);
      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(receipt.h1, 'Payment received');
      assert.match(receipt.main, /UT-/);
      assert.match(receipt.main, /PK-/);
      assert.equal((await summary(page))['Total charged'], '$152.72');

      // Paid bills leave the cart.
      await page.goto(new URL('/cart', page.url()).href);
      const empty = await j.step(page, 'cart after paying', MAIN);
      assert.match(empty.main, /Your cart is empty/);
    }));
}

test('paying a cart looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
