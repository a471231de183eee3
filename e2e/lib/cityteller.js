// Starts a fresh `cityteller demo` for one journey: free ports, a new
// temporary data folder, and SIGTERM at the end.
//
// With E2E_ARTIFACTS_DIR set (scripts/test sets it), each demo's data folder
// is made there and kept, with everything the demo printed, for the
// card-number scan that runs after the suite; otherwise it is deleted.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BANNER_END = 'Press Ctrl+C to stop.';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The binary `scripts/test` built (E2E_CITYTELLER_BIN overrides it). */
export function citytellerBinary() {
  if (process.env.E2E_CITYTELLER_BIN) return process.env.E2E_CITYTELLER_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
  return path.join(target, 'debug', 'cityteller');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// Every demo started by this process, so that a crashed test run does not
// leave servers behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * A running demo: `publicUrl`, `staffUrl`, `sandboxUrl` (each with a trailing
 * slash), `enrolLink` (the demo administrator's one-time link), `banner`,
 * `origins` (the three origins a browser may talk to) and `stop()`.
 */
export async function startCityteller() {
  const bin = citytellerBinary();
  if (!existsSync(bin)) {
    throw new Error(`cityteller binary not found at ${bin}; run \`cargo build -p cityteller\` first`);
  }
  let lastError;
  // A port found free can be taken by someone else before the demo binds
  // it; then the demo exits before its banner and we try other ports.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(bin);
    } catch (e) {
      lastError = e;
      if (!e.portClash) throw e;
    }
  }
  throw lastError;
}

async function startOnce(bin) {
  const [pub, staff, sandbox] = await distinctFreePorts(3);
  const keep = Boolean(process.env.E2E_ARTIFACTS_DIR);
  const parent = keep ? process.env.E2E_ARTIFACTS_DIR : os.tmpdir();
  await mkdir(parent, { recursive: true });
  const dataDir = await mkdtemp(path.join(parent, 'cityteller-e2e-'));
  const args = [
    'demo',
    '--data-dir', dataDir,
    '--public', `127.0.0.1:${pub}`,
    '--staff', `127.0.0.1:${staff}`,
    '--sandbox', `127.0.0.1:${sandbox}`,
  ];
  // Its own process group, so that a failed stop can end the sandbox child too.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const cleanUp = async () => {
    // The log from the banner's last line on: the banner itself lists the
    // test card numbers, which the scan would rightly flag; what matters is
    // what the processes printed while cards were being typed.
    if (keep) await writeFile(path.join(dataDir, 'demo-output.log'), output.slice(output.indexOf(BANNER_END)));
    else await rm(dataDir, { recursive: true, force: true });
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));

  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cityteller demo printed no banner in 30 s:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes(BANNER_END)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(output);
      }
    };
    child.stdout.on('data', check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const e = new Error(`cityteller demo exited (${code ?? signal}) before its banner:\n${output}`);
      e.portClash = /cannot listen|is port .* free|address already in use/i.test(output);
      reject(e);
    });
  }).catch(async (e) => {
    killGroup(child, 'SIGKILL');
    await cleanUp();
    throw e;
  });

  const enrol = banner.split('\n').map((l) => l.trim()).find((l) => l.includes('/enrol/'));
  if (!enrol) throw new Error(`no enrolment link in the demo banner:\n${banner}`);

  const publicUrl = `http://127.0.0.1:${pub}/`;
  const staffUrl = `http://127.0.0.1:${staff}/`;
  const sandboxUrl = `http://127.0.0.1:${sandbox}/`;
  return {
    publicUrl,
    staffUrl,
    sandboxUrl,
    origins: [publicUrl, staffUrl, sandboxUrl].map((u) => new URL(u).origin),
    enrolLink: enrol,
    banner,
    dataDir,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        let timer;
        const stopped = await Promise.race([
          exited.then(() => true),
          new Promise((r) => { timer = setTimeout(() => r(false), 10_000); }),
        ]);
        clearTimeout(timer);
        if (!stopped) {
          killGroup(child, 'SIGKILL');
          await exited;
          await cleanUp();
          throw new Error(`cityteller demo did not stop on SIGTERM within 10 s:\n${output}`);
        }
      }
      // The demo ends its sandbox process itself; anything left in the
      // group is a bug worth hearing about.
      let leftover = groupAlive(child);
      for (let i = 0; leftover && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 100));
        leftover = groupAlive(child);
      }
      if (leftover) killGroup(child, 'SIGKILL');
      await cleanUp();
      if (leftover) throw new Error('the sandbox process outlived the demo');
    },
  };
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function groupAlive(child) {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}
