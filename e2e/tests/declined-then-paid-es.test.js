// (b, in Spanish) A browser that prefers Spanish gets the site in Spanish
// without asking: a card is declined, the resident cancels on the
// processor's page (which is the processor's own, in English), then pays.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, amountDue, chooseUtilities, continueToProcessor, lookUp, openStart, payFullAmount, payWithCard, summary,
} from '../lib/resident.js';

const JOURNEY = 'declined-then-paid-es';
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const MAIN = { keyboard: true, reflow: true };

for (const js of [false, true]) {
  test(`a declined card, a cancelled payment, then a paid one, in Spanish (JavaScript ${js ? 'on' : 'off'})`, { timeout: 120_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      // Accept-Language: es-US, from the browser's own language.
      const page = await j.newPage('resident', { locale: 'es-US' });
      await openStart(j, page);
      await chooseUtilities(j, page);
      await lookUp(j, page, '2048-7781', '94112');
      assert.equal(await amountDue(page, 0), '$61.40');
      assert.equal(await amountDue(page, 1), '$58.95');

      await payFullAmount(j, page, 0);
      assert.equal((await summary(page))['Total que se cobrará'], '$62.94');
      await continueToProcessor(j, page);

      const declined = await payWithCard(j, page, CARDS.declined, 'declined', { screenshot: 'resident-declined-es' });
      assert.equal(declined.h1, 'No se realizó su pago');
      assert.match(declined.main, /Su tarjeta fue rechazada\. Pruebe con otra tarjeta/);
      assert.match(declined.main, /No se le ha cobrado nada\./);

      await page.getByRole('link', { name: 'Intentar de nuevo' }).click();
      await j.step(page, 'bills after the decline', MAIN);
      assert.equal(await amountDue(page, 0), '$61.40', 'nothing was taken');
      await payFullAmount(j, page, 0);
      await continueToProcessor(j, page);
      await page.getByRole('button', { name: 'Cancel and return to the merchant' }).click();
      const cancelled = await j.step(page, 'back from the processor after cancelling', MAIN);
      assert.equal(cancelled.h1, 'No se realizó su pago');
      assert.match(cancelled.main, /Usted canceló el pago en la página de pago\./);

      await page.getByRole('link', { name: 'Intentar de nuevo' }).click();
      await j.step(page, 'bills after cancelling', MAIN);
      await payFullAmount(j, page, 0);
      await continueToProcessor(j, page);
      const paid = await payWithCard(j, page, CARDS.succeeds, 'receipt');
      assert.equal(paid.h1, 'Pago recibido');
      assert.equal((await summary(page))['Total cobrado'], '$62.94');

      // A page that does not exist is explained in Spanish too.
      await page.goto(new URL('/pay/no-such-department', j.server.publicUrl).href);
      const missing = await j.step(page, 'a page that does not exist', { status: 404 });
      assert.equal(missing.h1, 'No se encontró la página');
    }, { lang: 'es' }));
}

test('declined, cancelled and paid in Spanish look the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
