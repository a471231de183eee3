// (f) A business renews its licence online, late: found by licence number
// and business name, it declares its gross receipts (a mistyped figure
// first), sees the fee with the late penalty and the state surcharge, pays,
// downloads its certificate from the receipt, and the certificate's code is
// checked on the public verification page (a mistyped code first).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import { CARDS, continueToProcessor, openStart, payWithCard, summary } from '../lib/resident.js';

const JOURNEY = 'licence-renewal';
const MAIN = { keyboard: true, reflow: true };
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

for (const js of [false, true]) {
  test(`a business renews its licence late (JavaScript ${js ? 'on' : 'off'})`, { timeout: 150_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await page.getByRole('link', { name: 'Pay a business licences bill' }).click();
      await j.step(page, 'licence look-up form', MAIN);
      await page.getByLabel('Licence number').fill('BL-000101');
      await page.getByLabel('Name on the notice').fill('corner books llc');
      await page.getByRole('button', { name: 'Find my bill' }).click();
      const account = await j.step(page, 'licence account', MAIN);
      assert.match(account.main, /This business licence expires on/);

      await page.getByRole('link', { name: 'Renew this licence' }).click();
      const form = await j.step(page, 'renewal form', { ...MAIN, screenshot: 'resident-renewal' });
      assert.equal(form.h1, 'Renew licence BL000101');
      assert.match(form.main, /A late penalty is added/);

      await page.getByLabel('Gross receipts for the past year, in dollars').fill('a lot');
      await page.getByRole('button', { name: 'Work out my fee' }).click();
      const bad = await j.step(page, 'renewal with a mistyped figure', { ...MAIN, status: 400 });
      assert.match(bad.title, /^Error: /);
      assert.equal(await page.getByLabel('Gross receipts for the past year, in dollars').getAttribute('aria-invalid'), 'true');

      await page.getByLabel('Gross receipts for the past year, in dollars').fill('250,000');
      await page.getByRole('button', { name: 'Work out my fee' }).click();
      await j.step(page, 'renewal fee', { ...MAIN, screenshot: 'resident-renewal-fee' });
      const fee = await summary(page);
      assert.equal(fee['Licence fee (Retail)'], '$235.00');
      assert.equal(fee['Late penalty (1 month)'], '$23.50');
      assert.equal(fee['State disability access fee'], '$4.00');
      assert.equal(fee.Total, '$262.50');

      await page.getByRole('radio', { name: 'They are correct' }).check();
      await page.getByRole('button', { name: 'Continue to payment' }).click();
      await j.step(page, 'review', MAIN);
      const review = await summary(page);
      assert.equal(review['Total to be charged'], '$263.50');
      await continueToProcessor(j, page);
      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(receipt.h1, 'Payment received');

      const download = page.getByRole('link', { name: 'Download your licence certificate (PDF)' });
      const href = await download.getAttribute('href');
      const pdf = await page.request.get(new URL(href, page.url()).href);
      assert.equal(pdf.status(), 200);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      const text = (await pdf.body()).toString('latin1');
      const code = /Verification code: ([0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4})/.exec(text)?.[1];
      assert.ok(code, 'the certificate carries its code');

      await page.goto(new URL('/verify', page.url()).href);
      await j.step(page, 'verification page', MAIN);
      await page.getByLabel('Licence number').fill('BL-000101');
      await page.getByLabel('Verification code').fill('0000-0000-0000');
      await page.getByRole('button', { name: 'Check the certificate' }).click();
      const forged = await j.step(page, 'a code that was never issued', MAIN);
      assert.match(forged.main, /No certificate with this licence number and code/);
      await page.getByLabel('Verification code').fill(code.toLowerCase());
      await page.getByRole('button', { name: 'Check the certificate' }).click();
      const genuine = await j.step(page, 'the certificate checks out', { ...MAIN, screenshot: 'resident-verify' });
      assert.match(genuine.main, /Genuine and current: Corner Books LLC \(Retail\)/);
    }));
}

test('renewing a licence looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
