// (a, in Spanish) A guest switches the site to Spanish with the link in the
// header and pays a utilities bill in full, after a wrong ZIP code and a
// mistyped e-mail address. The choice is remembered (a cookie, no
// JavaScript) through the processor's page and back to the receipt.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, TEXT, amountDue, chooseUtilities, continueToProcessor, demoBillDates, lookUp, openStart, payFullAmount, payWithCard, summary,
  switchLanguage,
} from '../lib/resident.js';

const JOURNEY = 'guest-payment-es';
const ES = TEXT.es;
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

for (const js of [false, true]) {
  test(`a guest pays a bill in full in Spanish (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      // An English-speaking browser: Spanish is the resident's choice.
      const page = await j.newPage('resident', { locale: 'en-US' });
      await openStart(j, page, { lang: 'en' });
      const start = await switchLanguage(j, page, 'es', 'start page in Spanish', { screenshot: 'resident-start-es' });
      assert.equal(start.h1, ES.startTitle);
      assert.match(start.title, /^Pague a la ciudad en línea – /);
      const back = page.getByRole('navigation').getByRole('link', { name: 'English', exact: true });
      assert.equal(await back.getAttribute('lang'), 'en', 'the link back is marked as English');
      await chooseUtilities(j, page);

      const wrong = await lookUp(j, page, '1002-3345', '94111', 'look-up with a wrong ZIP', { status: 400, screenshot: 'resident-lookup-error-es' });
      assert.match(wrong.title, /^Error: /, 'the title says there is an error');
      const summaryBox = page.getByRole('alert');
      await assert.doesNotReject(summaryBox.getByText('Hay un problema').waitFor());
      const link = summaryBox.getByRole('link', { name: /No encontramos ninguna factura con ese número de cuenta/ });
      const target = (await link.getAttribute('href')).slice(1);
      assert.equal(await page.locator(`[id="${target}"]`).count(), 1, 'the error summary links to a field on the page');
      assert.equal(await page.getByLabel(ES.account).inputValue(), '1002-3345', 'what was typed is kept');

      const bills = await lookUp(j, page, '1002-3345', '94110', 'bills', { screenshot: 'resident-bill-es' });
      assert.equal(bills.h1, 'Sus facturas de servicios públicos');
      assert.equal(await amountDue(page), '$84.12', 'US-Spanish amounts look like the bill');
      const bill = await summary(page);
      // The demo bill: due 21 days from today, for last month.
      const dates = demoBillDates('es', 21, 1);
      assert.equal(bill['Período de facturación'], `del ${dates.from} al ${dates.to}`);
      assert.equal(bill['Fecha de vencimiento'], dates.due);

      const review = await payFullAmount(j, page, 0, { screenshot: 'resident-review-es' });
      assert.equal(review.h1, 'Revise su pago');
      const quoted = await summary(page);
      assert.equal(quoted.Pago, '$84.12');
      assert.match(quoted['Cargo por conveniencia (tarjeta)'], /^\$2\.10\s+El 2\.5 % del pago, con un mínimo de \$1\.00\./);
      assert.equal(quoted['Total que se cobrará'], '$86.22');

      await page.getByLabel(ES.email).fill('maria at example');
      await page.getByRole('button', { name: ES.toProcessor }).click();
      const badEmail = await j.step(page, 'review with a bad e-mail address', { status: 400, keyboard: true, reflow: true });
      assert.match(badEmail.title, /^Error: Revise su pago/);
      assert.equal(await page.getByLabel(ES.email).getAttribute('aria-invalid'), 'true');
      assert.match(badEmail.main, /Escriba un correo electrónico como nombre@ejemplo\.com/);

      const card = await continueToProcessor(j, page, 'maria@example.com');
      assert.match(card.main, /\$86\.22/);

      const receipt = await payWithCard(j, page, CARDS.succeeds, 'receipt', { screenshot: 'resident-receipt-es' });
      assert.equal(receipt.h1, 'Pago recibido');
      const paid = await summary(page);
      assert.equal(paid['Total cobrado'], '$86.22');
      assert.equal(paid['Pagado con'], 'Visa terminada en 4242');
      assert.match(paid.Fecha, /^\d{1,2} de (enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre) de \d{4}$/);
      assert.match(receipt.main, /Le enviamos una copia de este recibo a m•••@example\.com/);

      // And back to English, on the same page.
      const english = await switchLanguage(j, page, 'en', 'receipt in English');
      assert.equal(english.h1, 'Payment received');
    }, { lang: 'es' }));
}

test('a guest payment in Spanish looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
