// (c, in Spanish) A resident pays part of a bill, after two amounts the bill
// refuses (each explained in Spanish beside the field and in the summary);
// the bill then shows what is left to pay.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, TEXT, amountDue, bill, chooseUtilities, continueToProcessor, lookUp, openStart, payAnotherAmount, payWithCard,
  summary,
} from '../lib/resident.js';

const JOURNEY = 'partial-payment-es';
const ES = TEXT.es;
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function assertAmountError(page, seen, message) {
  assert.match(seen.title, /^Error: Sus facturas de servicios públicos/);
  const amount = bill(page).getByLabel(ES.amount);
  assert.equal(await amount.getAttribute('aria-invalid'), 'true');
  const id = await amount.getAttribute('id');
  const link = page.getByRole('alert').locator(`a[href="#${id}"]`);
  assert.match(await link.innerText(), message, 'the error summary links to the amount');
  const describedBy = (await amount.getAttribute('aria-describedby')).split(' ');
  const error = page.locator(`[id="${describedBy.find((d) => d.endsWith('-error'))}"]`);
  assert.match(await error.innerText(), message, 'the message beside the field is tied to it');
  assert.match(await error.textContent(), /^Error: /, 'screen readers hear that it is an error');
  assert.ok(await bill(page).getByRole('radio', { name: ES.another }).isChecked(), 'the choice is kept');
}

for (const js of [false, true]) {
  test(`a resident pays part of a bill in Spanish (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident', { locale: 'es-MX' });
      await openStart(j, page);
      await chooseUtilities(j, page);
      await lookUp(j, page, '1002-3345', '94110');
      assert.equal(await amountDue(page), '$84.12');

      const notMoney = await payAnotherAmount(j, page, '12,5O', 'bills with an amount that is not money', { status: 400 });
      await assertAmountError(page, notMoney, /Escriba un importe en dólares y centavos, como 45\.10/);
      const tooMuch = await payAnotherAmount(j, page, '100.00', 'bills with more than is due', { status: 400, screenshot: 'resident-amount-error-es' });
      await assertAmountError(page, tooMuch, /Puede pagar como máximo \$84\.12, el importe pendiente/);

      await payAnotherAmount(j, page, '20.00', 'review');
      const review = await summary(page);
      assert.equal(review.Pago, '$20.00');
      assert.match(review['Cargo por conveniencia (tarjeta)'], /^\$1\.00/, 'the minimum fee');
      assert.equal(review['Total que se cobrará'], '$21.00');
      await continueToProcessor(j, page);
      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(receipt.h1, 'Pago recibido');
      assert.equal((await summary(page))['Total cobrado'], '$21.00');

      await page.getByRole('link', { name: 'Pagar otra factura' }).click();
      await j.step(page, 'start page again', { keyboard: true, reflow: true });
      await chooseUtilities(j, page);
      await lookUp(j, page, '1002-3345', '94110', 'bills after paying part');
      const after = await summary(page);
      assert.equal(after['Pagado hasta ahora'], '$20.00');
      assert.equal(await amountDue(page), '$64.12');
      assert.ok(await bill(page).getByRole('radio', { name: 'El importe pendiente completo, $64.12' }).isVisible());
    }, { lang: 'es' }));
}

test('a partial payment in Spanish looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
