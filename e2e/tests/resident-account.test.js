// (g) A resident creates an account: signs up, confirms the address with
// the link e-mailed to them (read from the demo's outbox), signs in, links
// their utilities account (a mistyped bill amount first), turns on e-mail
// bills and signs out. Every page is checked like the payment pages.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import { CARDS, openStart } from '../lib/resident.js';

const JOURNEY = 'resident-account';
const MAIN = { keyboard: true, reflow: true };
const EMAIL = 'maria.lopez@example.com';
const PASSWORD = 'lantern orchard pebble tide';
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Tomorrow in the city's time zone, as year-month-day (the demo's zone). */
function tomorrow(timeZone = 'America/Los_Angeles') {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: 'numeric', day: 'numeric',
  }).formatToParts(new Date()).map((p) => [p.type, Number(p.value)]));
  return new Date(Date.UTC(parts.year, parts.month - 1, parts.day + 1)).toISOString().slice(0, 10);
}

/** The path of the first `/account/confirm/…` link in the outbox's e-mails. */
async function confirmationLink(dataDir) {
  const outbox = path.join(dataDir, 'outbox');
  for (let i = 0; i < 100; i++) {
    const names = await readdir(outbox).catch(() => []);
    for (const name of names.filter((n) => n.endsWith('.eml'))) {
      // Undo quoted-printable soft line breaks before looking for the link.
      const raw = (await readFile(path.join(outbox, name), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      const link = /\/account\/confirm\/[A-Za-z0-9_-]+/.exec(raw);
      if (raw.includes(`To: ${EMAIL}`) && link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no confirmation e-mail in the outbox');
}

for (const js of [false, true]) {
  test(`a resident creates an account and links a bill (JavaScript ${js ? 'on' : 'off'})`, { timeout: 150_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      const page = await j.newPage('resident');
      await openStart(j, page);
      await page.getByRole('link', { name: /^Create an account/ }).click();
      const form = await j.step(page, 'sign-up form', MAIN);
      assert.equal(form.h1, 'Create an account');

      await page.getByLabel('E-mail address').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill('password');
      await page.getByLabel('Type the password again').fill('password');
      await page.getByRole('button', { name: 'Create account' }).click();
      const weak = await j.step(page, 'sign-up with a short password', { ...MAIN, status: 400 });
      assert.match(weak.title, /^Error: /);
      assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');

      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Type the password again').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      const sent = await j.step(page, 'check your e-mail', MAIN);
      assert.equal(sent.h1, 'Check your e-mail');

      await page.goto(new URL(await confirmationLink(j.server.dataDir), j.server.publicUrl).href);
      await j.step(page, 'confirm the address', MAIN);
      await page.getByRole('button', { name: 'Confirm my e-mail address' }).click();
      const confirmed = await j.step(page, 'address confirmed', MAIN);
      assert.equal(confirmed.h1, 'Your e-mail address is confirmed');

      await page.getByRole('link', { name: 'Sign in' }).click();
      await j.step(page, 'sign-in form', MAIN);
      await page.getByLabel('E-mail address').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const home = await j.step(page, 'account page', MAIN);
      assert.equal(home.h1, 'Your account');
      assert.match(home.main, /You have not linked any accounts yet/);

      await page.getByRole('link', { name: 'Utilities' }).click();
      await j.step(page, 'link form', MAIN);
      await page.getByLabel('Account number').fill('1002-3345');
      await page.getByLabel('ZIP code of the service address').fill('94110');
      await page.getByLabel('Amount of your latest bill').fill('80.00');
      await page.getByRole('button', { name: 'Link account' }).click();
      const refused = await j.step(page, 'link with a wrong amount', { ...MAIN, status: 400 });
      assert.match(refused.main, /could not find an account with those details/);

      await page.getByLabel('Amount of your latest bill').fill('84.12');
      await page.getByRole('button', { name: 'Link account' }).click();
      const linked = await j.step(page, 'account linked', { ...MAIN, screenshot: 'resident-account' });
      assert.match(linked.main, /The account is linked/);
      assert.match(linked.main, /\$84\.12/);

      await page.getByRole('button', { name: 'Get these bills by e-mail' }).click();
      const paperless = await j.step(page, 'e-mail bills on', MAIN);
      assert.match(paperless.main, /You will get this account's bills by e-mail/);

      // A card saved on the processor's own page.
      await page.getByRole('button', { name: 'Save a card' }).click();
      const processor = await j.step(page, 'save a card on the processor\'s page', MAIN);
      assert.match(processor.h1, /^Save a card for /);
      await page.getByLabel('Name on card').fill('Maria Lopez');
      await page.getByLabel('Card number').fill(CARDS.succeeds);
      await page.getByLabel('Expiry (MM/YY)').fill('12/30');
      await page.getByLabel('Security code').fill('123');
      await page.getByRole('button', { name: 'Save card' }).click();
      const saved = await j.step(page, 'card saved', MAIN);
      assert.match(saved.main, /Your card is saved/);
      assert.match(saved.main, /Visa ending 4242/);

      await page.getByRole('button', { name: 'Turn on autopay' }).click();
      const autopay = await j.step(page, 'autopay on', MAIN);
      assert.match(autopay.main, /Autopay is on: Visa ending 4242 is charged 5 days before each due date/);

      await page.getByRole('link', { name: /^Schedule a payment of / }).click();
      await j.step(page, 'schedule form', MAIN);
      await page.getByLabel('Amount in dollars').fill('10.00');
      await page.getByLabel('Day to pay').fill('soon');
      await page.getByLabel('Card', { exact: true }).selectOption({ label: 'Visa ending 4242' });
      await page.getByRole('button', { name: 'Schedule the payment' }).click();
      const badDay = await j.step(page, 'schedule with a day that is not a date', { ...MAIN, status: 400 });
      assert.match(badDay.main, /year-month-day/);
      await page.getByLabel('Day to pay').fill(tomorrow());
      await page.getByRole('button', { name: 'Schedule the payment' }).click();
      const scheduled = await j.step(page, 'payment scheduled', MAIN);
      assert.match(scheduled.main, /The payment is scheduled/);

      await page.getByRole('link', { name: 'Set up two-step verification' }).click();
      const twoStep = await j.step(page, 'two-step verification set-up', MAIN);
      assert.equal(twoStep.h1, 'Two-step verification');
      await page.getByRole('link', { name: 'Back to your account' }).click();
      await j.step(page, 'account again', MAIN);

      await page.getByRole('button', { name: 'Sign out' }).click();
      const out = await j.step(page, 'signed out', MAIN);
      assert.equal(out.h1, 'Pay the city online');
    }));
}

test('creating an account looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  assert.deepEqual(on, off);
});
