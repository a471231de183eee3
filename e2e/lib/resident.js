// What a resident does, step by step, as the pages label things.

import assert from 'node:assert/strict';

export const CARDS = {
  succeeds: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
};

// The main resident pages get the keyboard and reflow checks as well.
const MAIN = { keyboard: true, reflow: true };

export async function openStart(j, page, opts = {}) {
  await page.goto(j.server.publicUrl);
  const seen = await j.step(page, 'start page', { ...MAIN, ...opts });
  assert.equal(seen.h1, 'Pay the city online');
}

export async function chooseUtilities(j, page) {
  await page.getByRole('link', { name: 'Pay a utilities bill' }).click();
  const seen = await j.step(page, 'look-up form', MAIN);
  assert.equal(seen.h1, 'Pay a utilities bill');
}

export async function lookUp(j, page, account, zip, label = 'bills', opts = {}) {
  await page.getByLabel('Account number').fill(account);
  await page.getByLabel('ZIP code of the service address').fill(zip);
  await page.getByRole('button', { name: 'Find my bill' }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

/** The bill's section on the bills page (a region named after its heading). */
export function bill(page, index = 0) {
  return page.getByRole('region', { name: /^Bill / }).nth(index);
}

export async function amountDue(page, index = 0) {
  return bill(page, index).locator('.summary .total dd').innerText();
}

export async function payFullAmount(j, page, index = 0, opts = {}) {
  const b = bill(page, index);
  await b.getByRole('radio', { name: /^The full amount due/ }).check();
  await b.getByRole('button', { name: 'Continue' }).click();
  return j.step(page, 'review', { ...MAIN, ...opts });
}

export async function payAnotherAmount(j, page, amount, label, opts = {}) {
  const b = bill(page, 0);
  await b.getByRole('radio', { name: 'Another amount' }).check();
  await b.getByLabel('Amount in dollars').fill(amount);
  await b.getByRole('button', { name: 'Continue' }).click();
  return j.step(page, label, { ...MAIN, ...opts });
}

/** The review page's summary as { label: value }. */
export async function summary(page) {
  const rows = await page.locator('main dl.summary > div').evaluateAll((divs) =>
    divs.map((d) => [d.querySelector('dt').innerText.trim(), d.querySelector('dd').innerText.trim()]));
  return Object.fromEntries(rows);
}

export async function continueToProcessor(j, page, email = '', opts = {}) {
  await page.getByLabel('E-mail address for your receipt (optional)').fill(email);
  await page.getByRole('button', { name: 'Continue to secure payment' }).click();
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
