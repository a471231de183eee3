// One journey against its own fresh cityteller: browser contexts that are
// watched for console errors, CSP violations and requests to other origins;
// a check at every page (status, <html lang>, axe-core, optionally keyboard
// and reflow, screenshots); a transcript of what the user saw, so that the
// run with JavaScript and the run without it can be compared.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startCityteller } from './cityteller.js';
import { auditWithAxe } from './axe.js';
import { checkKeyboard, checkReflow } from './checks.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR || path.join(repoRoot, 'target', 'screenshots');

const VIEWPORT = { width: 900, height: 900 };

// Parts of console pages whose content depends on a race inside the server,
// not on the browser: whether the processor's webhook or the receipt page's
// own status query confirms a payment first, and when the receipt e-mail job
// runs, decide the order and wording of a payment's timeline and of the
// audit log. The transcripts compare everything else; the journeys assert
// what matters in these directly.
const VOLATILE = ['[role=region][aria-label="Timeline"]', '[role=region][aria-label="Audit events"]'];

/** What each journey showed, by journey name and then 'js-off' / 'js-on'. */
const transcripts = new Map();

export function transcriptOf(name, js) {
  return transcripts.get(name)?.[js ? 'js-on' : 'js-off'];
}

/**
 * Runs `body(journey)` against a fresh cityteller with JavaScript enabled
 * or not, then stops everything and fails on anything the watchers saw.
 * `lang` is the language the resident pages are expected in ('en', 'es');
 * the processor's pages are always English.
 */
export async function runJourney(browser, name, js, body, { lang = 'en' } = {}) {
  const server = await startCityteller();
  const journey = new Journey(browser, server, name, js, lang);
  let failure;
  try {
    await journey.open();
    await body(journey);
  } catch (e) {
    failure = e;
  }
  try {
    await journey.close();
  } catch (e) {
    failure ??= e;
  }
  try {
    await server.stop();
  } catch (e) {
    failure ??= e;
  }
  if (failure) {
    const tail = server.output().split('\n').slice(-40).join('\n');
    failure.message += `\n\n--- last lines printed by cityteller demo ---\n${tail}`;
    throw failure;
  }
  journey.assertNoProblems();
  const byMode = transcripts.get(name) ?? {};
  byMode[js ? 'js-on' : 'js-off'] = journey.transcript;
  transcripts.set(name, byMode);
}

/** What the layout says in each language, for the checks. */
const SKIP_LINK = { en: 'Skip to main content', es: 'Saltar al contenido principal' };

export class Journey {
  constructor(browser, server, name, js, lang = 'en') {
    this.browser = browser;
    this.server = server;
    this.name = name;
    this.js = js;
    this.lang = lang;
    this.contexts = [];
    this.problems = [];
    this.consoleErrors = [];
    this.transcript = [];
    // Main documents that answered with an error status on purpose (the
    // step said so); Chromium logs "Failed to load resource" for those.
    this.expectedErrorDocuments = new Set();
    this.pageState = new Map();
  }

  async open() {
    // axe-core is a script, and every page forbids scripts (CSP
    // script-src 'none'), so it runs in a context of its own that bypasses
    // CSP, on a copy of each page's DOM served at the page's own URL.
    this.auditContext = await this.browser.newContext({
      javaScriptEnabled: true,
      bypassCSP: true,
      viewport: VIEWPORT,
    });
    this.auditPage = await this.auditContext.newPage();
  }

  /**
   * A new person at a new browser (own cookies), watched throughout. The
   * browser's language is US English unless `locale` says otherwise (its
   * Accept-Language header follows it).
   */
  async newPage(who, { locale = 'en-US' } = {}) {
    const context = await this.browser.newContext({
      javaScriptEnabled: this.js,
      viewport: VIEWPORT,
      locale,
    });
    context.setDefaultTimeout(10_000);
    this.contexts.push(context);
    const allowed = new Set(this.server.origins);
    const note = (kind, detail) => this.problems.push(`${who}: ${kind}: ${detail}`);
    context.on('request', (req) => {
      const url = new URL(req.url());
      if (!allowed.has(url.origin)) note('request to another origin', `${req.method()} ${req.url()}`);
    });
    context.on('requestfailed', (req) => {
      const why = req.failure()?.errorText;
      // A page that navigates on (a form sent quickly) makes the browser
      // cancel what it was still fetching, such as the favicon: not a fault
      // of the page. A missing or refused resource fails otherwise.
      if (why === 'net::ERR_ABORTED' && !req.isNavigationRequest()) return;
      note('request failed', `${req.method()} ${req.url()}: ${why}`);
    });
    context.on('weberror', (err) => note('page error', err.error().message));
    context.on('console', (msg) => {
      const text = msg.text();
      const url = msg.location()?.url ?? '';
      if (msg.type() === 'error' || /content security policy/i.test(text)) {
        this.consoleErrors.push({ who, type: msg.type(), text, url });
      }
    });
    const page = await context.newPage();
    const state = { who, documents: [] };
    this.pageState.set(page, state);
    page.on('response', (res) => {
      const req = res.request();
      if (!req.isNavigationRequest() || req.frame() !== page.mainFrame()) return;
      const status = res.status();
      if (status >= 300 && status < 400) return; // a redirect, not a page
      state.documents.push({ url: res.url(), status, method: req.method() });
    });
    return page;
  }

  allProblems() {
    const out = [...this.problems];
    for (const c of this.consoleErrors) {
      const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(c.text);
      if (m && this.expectedErrorDocuments.has(`${c.url} ${m[1]}`)) continue;
      out.push(`${c.who}: console ${c.type}: ${c.text}${c.url ? ` (${c.url})` : ''}`);
    }
    return out;
  }

  assertNoProblems(where = '') {
    const problems = this.allProblems();
    assert.deepEqual(problems, [], `the browser saw problems${where ? ` by ${where}` : ''}:\n${problems.join('\n')}`);
  }

  /**
   * Checks the page just loaded in `page`: exactly one new document since
   * the last step (so no page goes unchecked), its status, <html lang> (the
   * journey's language, or `lang`; the processor's pages are English),
   * axe-core, the watchers; then, if asked, keyboard and reflow checks and a
   * screenshot. Records what the user saw in the transcript.
   */
  async step(page, label, opts = {}) {
    const { status = 200, screenshot, keyboard = false, reflow = false } = opts;
    const onProcessor = new URL(page.url()).origin === new URL(this.server.sandboxUrl).origin;
    const lang = opts.lang ?? (onProcessor ? 'en' : this.lang);
    await page.waitForLoadState('load');
    const state = this.pageState.get(page);
    const docs = state.documents.splice(0);
    assert.equal(
      docs.length,
      1,
      `${label}: expected exactly one page load since the last check, saw ${JSON.stringify(docs)}`,
    );
    const [doc] = docs;
    assert.equal(doc.url, withoutHash(page.url()), `${label}: the page shown is the one loaded`);
    assert.equal(doc.status, status, `${label}: HTTP status of ${doc.url}`);
    if (status >= 400) this.expectedErrorDocuments.add(`${doc.url} ${status}`);
    // First what the browser reported while loading: the axe copy below
    // ignores CSP, so a blocked inline style would otherwise be judged as if
    // it applied.
    this.assertNoProblems(label);

    const seen = await page.evaluate((volatile) => {
      const text = (el) => (el ? el.innerText.replace(/\s+/g, ' ').trim() : null);
      const main = document.querySelector('main');
      let stable = text(main);
      for (const el of main ? main.querySelectorAll(volatile) : []) {
        stable = stable.replace(text(el), `<${el.getAttribute('aria-label')}>`);
      }
      return {
        lang: document.documentElement.getAttribute('lang'),
        title: document.title,
        h1: text(document.querySelector('h1')),
        main: text(main),
        stable,
      };
    }, VOLATILE.join(','));
    assert.equal(seen.lang, lang, `${label}: <html lang="${lang}">`);
    assert.ok(seen.h1, `${label}: the page has a heading`);
    this.transcript.push({
      step: label,
      status,
      method: doc.method,
      path: normalisePath(this.server, doc.url),
      title: normalise(seen.title),
      h1: normalise(seen.h1),
      main: normalise(seen.stable),
    });

    const violations = await auditWithAxe(this.auditPage, page);
    assert.deepEqual(violations, [], `${label}: axe-core found accessibility problems:\n${formatViolations(violations)}`);

    if (screenshot && !this.js) {
      // One set of pictures is enough: both runs must look the same.
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${screenshot}.png`), fullPage: true });
    }
    if (reflow) await checkReflow(page, label, VIEWPORT, reflow === true ? undefined : reflow);
    if (keyboard) await checkKeyboard(page, label, { skipLink: onProcessor ? false : SKIP_LINK[lang] });
    this.assertNoProblems(label);
    return seen;
  }

  async close() {
    for (const c of this.contexts) await c.close();
    await this.auditContext?.close();
  }
}

function withoutHash(url) {
  const u = new URL(url);
  u.hash = '';
  return u.href;
}

/**
 * Masks what differs between two runs by design: ids, tokens, keys, ports,
 * recovery codes, dates and times.
 */
export function normalise(text) {
  if (text == null) return text;
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\b(cs|evt|re|seti|pm)_[A-Za-z0-9]+/g, '$1_<id>')
    .replace(/\b[0-9a-f]{64}\b/g, '<sha256>')
    .replace(/\bresident:[0-9a-f]+/g, 'resident:<session>')
    .replace(/\/\/127\.0\.0\.1:\d+/g, '//<host>')
    .replace(/\b[a-z2-7]{5}-[a-z2-7]{5}\b/g, '<recovery code>')
    .replace(/\/enrol\/[A-Za-z0-9_-]+/g, '/enrol/<token>')
    .replace(/\/account\/(confirm|reset|unsubscribe)\/[A-Za-z0-9._-]+/g, '/account/$1/<token>')
    .replace(/\bcode=[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}\b/g, 'code=<certificate code>')
    .replace(/\b[A-Z2-7]{16,}\b/g, '<key>')
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, '<date>')
    .replace(/\b\d{1,2}:\d{2}(:\d{2})?\b/g, '<time>');
}

function normalisePath(server, url) {
  const u = new URL(url);
  const listener = Object.entries({ public: server.publicUrl, staff: server.staffUrl, sandbox: server.sandboxUrl })
    .find(([, base]) => new URL(base).origin === u.origin)?.[0];
  return `${listener} ${normalise(decodeURIComponent(u.pathname + u.search))}`;
}

function formatViolations(violations) {
  return violations
    .map((v) => `- ${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary?.replace(/\n/g, ' ')}`).join('\n')}`)
    .join('\n');
}
