// What a resident does, step by step, as the pages label things.

import assert from 'node:assert/strict';

export const CARDS = {
  succeeds: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
};

// The main resident pages get the keyboard and reflow checks as well.
const MAIN = { keyboard: true, reflow: true };

/** What the resident pages call things, in each language (`j.lang`). */
export const TEXT = {
  en: {
    startTitle: 'Pay the city online',
    payUtilities: 'Pay a utilities bill',
    account: 'Account number',
    zip: 'ZIP code of the service address',
    find: 'Find my bill',
    full: /^The full amount due/,
    another: 'Another amount',
    amount: 'Amount in dollars',
    continue: 'Continue',
    email: 'E-mail address for your receipt (optional)',
    toProcessor: 'Continue to secure payment',
  },
  es: {
    startTitle: 'Pague a la ciudad en línea',
    payUtilities: 'Pagar una factura de servicios públicos',
    account: 'Número de cuenta',
    zip: 'Código postal (ZIP) de la dirección de servicio',
    find: 'Buscar mi factura',
    full: /^El importe pendiente completo/,
    another: 'Otro importe',
    amount: 'Importe en dólares',
    continue: 'Continuar',
    email: 'Correo electrónico para su recibo (opcional)',
    toProcessor: 'Continuar al pago seguro',
  },
};

const text = (j) => TEXT[j.lang];

/// The demo's dates for a bill due `dueIn` days after today, for the month
/// `monthsBack` months before this one, as the resident pages print them in
/// `lang`. The demo dates its bills from today in the city's time zone, so
/// the journeys compute them the same way instead of hard-coding a day.
export function demoBillDates(lang, dueIn, monthsBack, timeZone = 'America/Los_Angeles') {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: 'numeric', day: 'numeric',
  }).formatToParts(new Date()).map((p) => [p.type, Number(p.value)]));
  const format = (d) => new Intl.DateTimeFormat(lang, {
    timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric',
  }).format(d);
  const due = new Date(Date.UTC(parts.year, parts.month - 1, parts.day + dueIn));
  const first = new Date(Date.UTC(parts.year, parts.month - 1 - monthsBack, 1));
  const last = new Date(Date.UTC(parts.year, parts.month - monthsBack, 0));
  return { due: format(due), from: format(first), to: format(last) };
}

export async function openStart(j, page, opts = {}) {
  await page.goto(j.server.publicUrl);
  const seen = await j.step(page, 'start page', { ...MAIN, ...opts });
  assert.equal(seen.h1, TEXT[opts.lang ?? j.lang].startTitle);
}

/**
 * Follows the language link in the page's header ("Español" on an English
 * page), which is marked up in the language it names.
 */
export async function switchLanguage(j, page, to, label, opts = {}) {
  const names = { en: 'English', es: 'Español' };
  const link = page.getByRole('navigation').getByRole('link', { name: names[to], exact: true });
  assert.equal(await link.getAttribute('lang'), to, 'the link text is marked as its language');
  assert.equal(await link.getAttribute('hreflang'), to, 'the link says the page it opens is in that language');
  await link.click();
  return j.step(page, label, { ...MAIN, ...opts, lang: to });
}

export async function chooseUtilities(j, page) {
  await page.getByRole('link', { name: text(j).payUtilities }).click();
  const seen = await j.step(page, 'look-up form', MAIN);
  assert.equal(seen.h1, text(j).payUtilities);
}

export async function lookUp(j, page, account, zip, label = 'bills', opts = {}) {
  await page.getByLabel(text(j).account).fill(account);
  await page.getByLabel(text(j).zip).fill(zip);
  await page.getByRole('button', { name: text(j).find }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

/** The bill's section on the bills page (a region named after its heading). */
export function bill(page, index = 0) {
  return page.getByRole('region', { name: /^(Bill|Factura) / }).nth(index);
}

export async function amountDue(page, index = 0) {
  return bill(page, index).locator('.summary .total dd').innerText();
}

export async function payFullAmount(j, page, index = 0, opts = {}) {
  const b = bill(page, index);
  await b.getByRole('radio', { name: text(j).full }).check();
  await b.getByRole('button', { name: text(j).continue, exact: true }).click();
  return j.step(page, 'review', { ...MAIN, ...opts });
}

export async function payAnotherAmount(j, page, amount, label, opts = {}) {
  const b = bill(page, 0);
  await b.getByRole('radio', { name: text(j).another }).check();
  await b.getByLabel(text(j).amount).fill(amount);
  await b.getByRole('button', { name: text(j).continue, exact: true }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

/** The review page's summary as { label: value }. */
export async function summary(page) {
  const rows = await page.locator('main dl.summary > div').evaluateAll((divs) =>
    divs.map((d) => [d.querySelector('dt').innerText.trim(), d.querySelector('dd').innerText.trim()]));
  return Object.fromEntries(rows);
}

export async function continueToProcessor(j, page, email = '', opts = {}) {
  await page.getByLabel(text(j).email).fill(email);
  await page.getByRole('button', { name: text(j).toProcessor }).click();
  const seen = await j.step(page, 'processor card page', { ...MAIN, ...opts });
  assert.equal(new URL(page.url()).origin, new URL(j.server.sandboxUrl).origin, 'the card page is on the processor origin');
  return seen;
}

export async function payWithCard(j, page, number, label, opts = {}) {
  await page.getByLabel('Name on card').fill('Maria Lopez');
  await page.getByLabel('Card number').fill(number);
  await page.getByLabel('Expiry (MM/YY)').fill('12/30');
  await page.getByLabel('Security code').fill('123');
  await page.getByRole('button', { name: /^Pay \$/ }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}
