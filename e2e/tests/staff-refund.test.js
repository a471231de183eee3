// (d) The demo administrator enrols and signs in (after a wrong code), adds
// a supervisor and a finance officer, who enrol in their own browsers; a
// resident pays the $312.50 bill; the supervisor finds it and asks for a
// $150 refund, which needs a second person; finance approves it and opens
// today's daily close; the administrator reads the audit log and looks a
// resident's online account up.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser } from '../lib/browser.js';
import { runJourney, transcriptOf } from '../lib/journey.js';
import {
  CARDS, chooseUtilities, continueToProcessor, lookUp, openStart, payFullAmount, payWithCard, summary,
} from '../lib/resident.js';
import { enrol, navigate, signIn, step } from '../lib/staff.js';

const JOURNEY = 'staff-refund';
const ADMIN = 'admin@springfield.example';
const SUPERVISOR = 'sam.supervisor@springfield.example';
const FINANCE = 'fran.finance@springfield.example';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Adds a member of staff on /staff and returns their enrolment link. */
async function addStaff(j, admin, email, role) {
  await admin.getByLabel('E-mail address').fill(email);
  await admin.getByRole('radio', { name: new RegExp(`^${role}:`) }).check();
  await admin.getByRole('button', { name: 'Add and create an enrolment link' }).click();
  await step(j, admin, `admin: ${role} added`);
  const panel = admin.getByRole('status');
  assert.match(await panel.innerText(), new RegExp(`Enrolment link for ${email.replace(/[.]/g, '\\.')}`));
  const link = (await panel.locator('code.secret').innerText()).trim();
  assert.match(link, /\/enrol\//);
  return link;
}

for (const js of [false, true]) {
  test(`staff refund a payment with a second approver (JavaScript ${js ? 'on' : 'off'})`, { timeout: 180_000 }, () =>
    runJourney(browser, JOURNEY, js, async (j) => {
      // The administrator, from the link the demo printed.
      const admin = await j.newPage('admin');
      const adminAuth = await enrol(j, admin, j.server.enrolLink, 'admin');
      const home = await signIn(j, admin, ADMIN, adminAuth, 'admin', { wrongCodeFirst: true });
      const today = /Today is (\d{4}-\d{2}-\d{2})/.exec(home.main)?.[1];
      assert.ok(today, 'the console says what day it is');

      await navigate(j, admin, 'Staff', 'admin: staff page');
      // No role chosen: the error summary must lead to the role choice.
      await admin.getByLabel('E-mail address').fill(SUPERVISOR);
      await admin.getByRole('button', { name: 'Add and create an enrolment link' }).click();
      const noRole = await step(j, admin, 'admin: staff page without a role', { status: 400 });
      assert.match(noRole.title, /^Error: /);
      const roleLink = admin.getByRole('alert').getByRole('link', { name: 'Choose a role' });
      const target = (await roleLink.getAttribute('href')).slice(1);
      assert.equal(await admin.locator(`[id="${target}"]`).getAttribute('type'), 'radio', 'the summary links to the first role');

      const supervisorLink = await addStaff(j, admin, SUPERVISOR, 'supervisor');
      const financeLink = await addStaff(j, admin, FINANCE, 'finance');

      // Each new member of staff in a browser of their own.
      const supervisor = await j.newPage('supervisor');
      const supervisorAuth = await enrol(j, supervisor, supervisorLink, 'supervisor');
      await signIn(j, supervisor, SUPERVISOR, supervisorAuth, 'supervisor');
      const finance = await j.newPage('finance');
      const financeAuth = await enrol(j, finance, financeLink, 'finance');
      await signIn(j, finance, FINANCE, financeAuth, 'finance');

      // A resident pays the bakery's bill.
      const resident = await j.newPage('resident');
      await openStart(j, resident);
      await chooseUtilities(j, resident);
      await lookUp(j, resident, '3090-1200', '94117');
      await payFullAmount(j, resident);
      await continueToProcessor(j, resident, 'bakery@example.com');
      const receipt = await payWithCard(j, resident, CARDS.succeeds, 'resident: receipt');
      assert.equal(receipt.h1, 'Payment received');
      assert.equal((await summary(resident))['Total charged'], '$320.31');
      const receiptNumber = /Your receipt number is (\S+)/.exec(receipt.main)[1];

      // The supervisor finds it and asks for $150 back.
      await navigate(j, supervisor, 'Payments', 'supervisor: payment search');
      await supervisor.getByLabel('Card, last 4 digits').fill('42x');
      await supervisor.getByRole('main').getByRole('button', { name: 'Search' }).click();
      const badSearch = await step(j, supervisor, 'supervisor: search with a bad card number', { status: 400 });
      assert.match(badSearch.title, /^Error: /);
      const last4 = supervisor.getByLabel('Card, last 4 digits');
      assert.equal(await last4.getAttribute('aria-invalid'), 'true');
      assert.equal(await supervisor.getByRole('alert').locator('a[href="#last4"]').count(), 1, 'the summary links to the field');
      await last4.fill('');
      await supervisor.getByLabel('Account number').fill('3090-1200');
      await supervisor.getByRole('main').getByRole('button', { name: 'Search' }).click();
      await step(j, supervisor, 'supervisor: search results');
      const rows = supervisor.getByRole('table', { name: 'Payments found, newest first' }).locator('tbody tr');
      assert.equal(await rows.count(), 1, 'one payment on that account');
      assert.match(await rows.first().innerText(), new RegExp(`${receiptNumber}[\\s\\S]*\\$320\\.31`));
      await rows.first().getByRole('link').click();
      const detail = await step(j, supervisor, 'supervisor: payment detail', { screenshot: 'staff-payment' });
      assert.equal(detail.h1, `Payment ${receiptNumber}`);
      assert.match(detail.main, /succeeded/);
      const timeline = await supervisor.getByRole('region', { name: 'Timeline' }).innerText();
      for (const event of ['payment.created', 'payment.checkout_opened', 'payment.succeeded']) {
        assert.match(timeline, new RegExp(event.replace('.', '\\.')), `the timeline shows ${event}`);
      }

      await supervisor.getByRole('main').getByRole('link', { name: 'Refund', exact: true }).click();
      await step(j, supervisor, 'supervisor: refund form');
      await supervisor.getByLabel('Amount to refund, in dollars').fill('1000.00');
      await supervisor.getByLabel('Reason').fill('Meter misread in October');
      await supervisor.getByRole('button', { name: 'Refund', exact: true }).click();
      const tooMuch = await step(j, supervisor, 'supervisor: refund more than was paid', { status: 400 });
      assert.match(tooMuch.title, /^Error: /);
      const amount = supervisor.getByLabel('Amount to refund, in dollars');
      assert.equal(await amount.getAttribute('aria-invalid'), 'true');
      assert.equal(await supervisor.getByLabel('Reason').inputValue(), 'Meter misread in October', 'the reason is kept');

      await amount.fill('150.00');
      await supervisor.getByRole('button', { name: 'Refund', exact: true }).click();
      const requested = await step(j, supervisor, 'supervisor: refund requested');
      assert.match(requested.main, /approv/i, 'the refund waits for approval');
      assert.match(requested.main, /\$150\.00[\s\S]*pending|pending[\s\S]*\$150\.00/i);

      // Nobody approves their own refund.
      await navigate(j, supervisor, 'Refund approvals', 'supervisor: refund approvals');
      assert.match(await supervisor.getByRole('main').innerText(), /Your own request: another member of staff must decide\./);
      assert.equal(await supervisor.getByRole('main').getByRole('button', { name: 'Approve' }).count(), 0);

      // Finance approves it, then looks at today's close.
      await navigate(j, finance, 'Refund approvals', 'finance: refund approvals', { screenshot: 'staff-refund-approval' });
      const waiting = finance.getByRole('table', { name: 'Refunds waiting for a second member of staff' }).locator('tbody tr');
      assert.equal(await waiting.count(), 1);
      assert.match(await waiting.first().innerText(), new RegExp(`${SUPERVISOR.replace(/[.]/g, '\\.')}[\\s\\S]*\\$150\\.00[\\s\\S]*Meter misread in October`));
      await waiting.first().getByRole('button', { name: 'Approve' }).click();
      const approved = await step(j, finance, 'finance: refund approved');
      assert.match(approved.main, /No refund is waiting for approval\./);

      await navigate(j, finance, 'Daily close', 'finance: daily close dates');
      await finance.getByRole('main').getByRole('link', { name: today, exact: true }).click();
      const close = await step(j, finance, 'finance: daily close', { screenshot: 'staff-daily-close' });
      assert.equal(close.h1, `Business date ${today}`);
      const totals = await summary(finance);
      assert.equal(totals['Taken (bills and fees)'], '$320.31');
      assert.equal(totals.Refunded, '$150.00');
      assert.match(close.main, /Every charge and refund matches the processor's records\./);

      // The administrator sees all of it in the audit log.
      await navigate(j, admin, 'Audit log', 'admin: audit log');
      const log = await admin.getByRole('region', { name: 'Audit events' }).innerText();
      for (const action of ['refund.requested', 'refund.approved', 'staff.added', 'payment.succeeded']) {
        assert.match(log, new RegExp(action.replace('.', '\\.')), `the audit log shows ${action}`);
      }

      // Resident accounts: a malformed address, then one nobody signed up
      // with (the Rust tests go on to a found account and its help forms).
      await navigate(j, admin, 'Resident accounts', 'admin: resident accounts');
      await admin.getByLabel('E-mail address').fill('maria at example');
      await admin.getByRole('button', { name: 'Find the account' }).click();
      const badLookup = await step(j, admin, 'admin: resident look-up with a bad address', { status: 400 });
      assert.match(badLookup.title, /^Error: /);
      assert.equal(await admin.getByRole('alert').locator('a[href="#email"]').count(), 1, 'the summary links to the field');
      await admin.getByLabel('E-mail address').fill('nobody@example.com');
      await admin.getByRole('button', { name: 'Find the account' }).click();
      const none = await step(j, admin, 'admin: resident look-up, no account');
      assert.match(none.main, /No online account uses that address/);
    }));
}

test('the staff journey looks the same with and without JavaScript', () => {
  const off = transcriptOf(JOURNEY, false);
  const on = transcriptOf(JOURNEY, true);
  assert.ok(off && on, 'both runs finished');
  // The server-side timeline and audit log were left out of the comparison
  // (see VOLATILE in lib/journey.js), and nothing else.
  const masked = off.filter((s) => /<(Timeline|Audit events)>/.test(s.main)).map((s) => s.step);
  assert.deepEqual(masked, ['supervisor: payment detail', 'supervisor: refund requested', 'admin: audit log']);
  assert.deepEqual(on, off);
});
