// RFC 6238 TOTP (SHA-1, 30-second steps, 6 digits), as an authenticator app
// computes it from the key shown on the enrolment page.

import crypto from 'node:crypto';

export const STEP_SECONDS = 30;

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=-]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function currentStep(now = Date.now()) {
  return Math.floor(now / 1000 / STEP_SECONDS);
}

export function codeAtStep(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(key)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

/**
 * An authenticator for one key. The server accepts each code once and only
 * within one step of its clock, so every code handed out is for a later step
 * than the one before: the current step, then the next one, waiting for the
 * clock when the window is used up.
 */
export class Authenticator {
  constructor(key) {
    this.key = key;
    this.lastStep = -Infinity;
  }

  async nextCode() {
    for (;;) {
      const now = currentStep();
      const step = Math.max(now, this.lastStep + 1);
      if (step <= now + 1) {
        this.lastStep = step;
        return codeAtStep(this.key, step);
      }
      const msToNextStep = STEP_SECONDS * 1000 - (Date.now() % (STEP_SECONDS * 1000)) + 50;
      await new Promise((r) => setTimeout(r, msToNextStep));
    }
  }

  /** A code the server must refuse: from far outside the accepted window. */
  wrongCode() {
    const now = currentStep();
    const valid = new Set([-1, 0, 1].map((d) => codeAtStep(this.key, now + d)));
    for (let d = 10; ; d++) {
      const c = codeAtStep(this.key, now + d);
      if (!valid.has(c)) return c;
    }
  }
}
