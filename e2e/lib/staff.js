// What a member of staff does in the console, as its pages label things.

import assert from 'node:assert/strict';

import { Authenticator } from './totp.js';

export const PASSWORD = 'correct horse battery staple';

// Console pages get the keyboard and reflow checks as well (their wide
// data tables scroll inside their own regions, which WCAG 1.4.10 allows).
const CONSOLE = { keyboard: true, reflow: true };

/** Follows a one-time enrolment link; returns the person's authenticator. */
export async function enrol(j, page, link, who) {
  await page.goto(link);
  const form = await j.step(page, `${who}: enrolment`, CONSOLE);
  assert.equal(form.h1, 'Set up your staff account');
  const key = (await page.locator('code.secret').innerText()).trim();
  assert.ok(await page.getByRole('img', { name: /QR code/ }).isVisible(), 'a QR code is shown');
  const authenticator = new Authenticator(key);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByLabel('The 6-digit code your app now shows').fill(await authenticator.nextCode());
  await page.getByRole('button', { name: 'Finish setting up' }).click();
  const done = await j.step(page, `${who}: recovery codes`, CONSOLE);
  assert.equal(done.h1, 'Your account is ready');
  assert.equal(await page.locator('ul.codes li').count(), 10, 'ten recovery codes');
  return authenticator;
}

/** From the page after enrolment: "Sign in", then the sign-in form. */
export async function signIn(j, page, email, authenticator, who, { wrongCodeFirst = false } = {}) {
  await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
  const form = await j.step(page, `${who}: sign-in form`, CONSOLE);
  assert.equal(form.h1, 'Sign in');
  if (wrongCodeFirst) {
    await fillSignIn(page, email, authenticator.wrongCode());
    const refused = await j.step(page, `${who}: sign-in with a wrong code`, { ...CONSOLE, status: 401 });
    assert.match(refused.title, /^Error: /);
    assert.match(refused.main, /The e-mail address, password or code is not right\./);
    assert.equal(await page.getByLabel('E-mail address').inputValue(), email, 'the address is kept');
  }
  await fillSignIn(page, email, await authenticator.nextCode());
  const home = await j.step(page, `${who}: console home`, CONSOLE);
  assert.equal(home.h1, 'Staff console');
  assert.match(await page.locator('header .account').innerText(), new RegExp(email.replace(/[.]/g, '\\.')));
  return home;
}

async function fillSignIn(page, email, code) {
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Code from your authenticator app').fill(code);
  await page.getByRole('main').getByRole('button', { name: 'Sign in' }).click();
}

/** A link in the console's navigation (never the header's "Sign out"). */
export async function navigate(j, page, name, label, opts = {}) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();
  return j.step(page, label, { ...CONSOLE, ...opts });
}

export async function step(j, page, label, opts = {}) {
  return j.step(page, label, { ...CONSOLE, ...opts });
}
