// Entry point of `npm test`. It starts callplane (HTTP and HTTPS listeners, fresh data directory),
// reads its startup banner, and runs the test files in a child Node process whose
// NODE_EXTRA_CA_CERTS is the CA callplane printed: Node reads that variable only when a process
// starts, so the process that talks HTTPS to callplane must be started after callplane.
//
// The callplane binary is $CALLPLANE_BIN; without it, this builds one with `go build` into a
// temporary directory. callplane and every temporary directory are removed at the end, also when
// the tests fail or the run is interrupted.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const startupDeadlineMs = 30_000;
const buildDeadlineMs = 300_000;
const stopDeadlineMs = 10_000;

const tempDirs = [];
let callplane; // the running callplane ChildProcess
let tests; // the running test ChildProcess

function log(msg) {
  process.stderr.write(`[run] ${msg}\n`);
}

function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

// callplaneBinary returns $CALLPLANE_BIN, or a binary built from this repository.
async function callplaneBinary() {
  if (process.env.CALLPLANE_BIN) return process.env.CALLPLANE_BIN;
  const out = join(await tempDir('callplane-bin-'), 'callplane');
  log(`CALLPLANE_BIN is not set; building callplane into ${out}`);
  const go = spawn('go', ['build', '-o', out, './cmd/callplane'], { cwd: repoRoot, stdio: 'inherit' });
  const code = await withDeadline(
    new Promise((resolve, reject) => {
      go.once('error', (err) => reject(new Error(`go build: ${err.message} (set CALLPLANE_BIN)`)));
      go.once('exit', (c, signal) => resolve(signal ?? c));
    }),
    buildDeadlineMs,
    'go build',
  );
  if (code !== 0) throw new Error(`go build failed (${code}); set CALLPLANE_BIN to a callplane binary`);
  return out;
}

// Banner labels and the config keys they become.
const bannerKeys = {
  'Graph base URL': 'httpBase',
  'HTTPS base URL': 'httpsBase',
  'trust this CA': 'caFile',
  'tenant id': 'tenantId',
  'client id': 'clientId',
  'client secret': 'clientSecret',
  'token endpoint': 'tokenEndpoint',
  'callback tokens': 'callbackOpenIdConfig',
  'MSAL authority': 'msalAuthority',
};
const requiredKeys = ['httpBase', 'httpsBase', 'caFile', 'tenantId', 'clientId', 'clientSecret', 'tokenEndpoint', 'msalAuthority', 'adminSecret'];

// startCallplane starts `callplane serve` and resolves with the values of its banner.
async function startCallplane(bin) {
  const data = join(await tempDir('callplane-data-'), 'data');
  // callplane reads CALLPLANE_<FLAG> variables; keep the caller's out so that only the flags
  // below configure it (CALLPLANE_LOOSE=true, say, would let token-less requests pass). Only
  // CALLPLANE_LOG_LEVEL is passed on, as --log-level.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CALLPLANE_')));
  const args = [
    'serve',
    '--listen', '127.0.0.1:0',
    '--tls-listen', '127.0.0.1:0',
    '--data', data,
    '--answer-delay', '20ms',
    '--loose=false',
    '--log-level', process.env.CALLPLANE_LOG_LEVEL ?? 'warn',
  ];
  log(`${bin} ${args.join(' ')}`);
  callplane = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  callplane.stderr.on('data', (chunk) => {
    stderr.push(chunk);
    process.stderr.write(chunk);
  });

  const config = {};
  const banner = new Promise((resolve, reject) => {
    callplane.once('error', (err) => reject(new Error(`starting ${bin}: ${err.message}`)));
    callplane.once('exit', (code, signal) =>
      reject(new Error(`callplane exited (${signal ?? code}) before printing its banner:\n${Buffer.concat(stderr)}`)),
    );
    const lines = createInterface({ input: callplane.stdout });
    lines.on('line', (line) => {
      const m = /^\s+([^:]+):\s+(\S+)/.exec(line);
      if (m && bannerKeys[m[1]]) config[bannerKeys[m[1]]] = m[2];
      const admin = /^\s+admin API:\s+\S+ \(bearer (\S+)\)/.exec(line);
      if (admin) config.adminSecret = admin[1];
      if (requiredKeys.every((k) => config[k])) resolve(config);
    });
  });
  await withDeadline(banner, startupDeadlineMs, 'callplane banner');
  callplane.stdout.resume(); // keep draining stdout
  return config;
}

// stop ends a child process: SIGTERM, then SIGKILL if it has not exited within the deadline.
async function stop(child, name) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await withDeadline(exited(child), stopDeadlineMs, `${name} shutdown`);
  } catch {
    log(`${name} did not stop on SIGTERM; killing it`);
    child.kill('SIGKILL');
    await exited(child);
  }
}

// cleanUp stops the tests and callplane, then removes the temporary directories. It runs once,
// however many times it is called (at the end of the run and on SIGINT/SIGTERM).
let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    await stop(tests, 'the tests');
    await stop(callplane, 'callplane');
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  })();
  return cleaning;
}

async function runTests(config) {
  const testDir = join(here, 'test');
  const files = (await readdir(testDir)).filter((f) => f.endsWith('.test.mjs')).sort();
  const env = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: config.caFile,
    CALLPLANE_CONFORMANCE: JSON.stringify(config),
  };
  tests = spawn(process.execPath, ['--test', ...files.map((f) => join(testDir, f))], {
    cwd: here,
    env,
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    tests.once('error', reject);
    tests.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    cleanUp().finally(() => process.exit(130));
  });
}

let exitCode = 1;
try {
  const config = await startCallplane(await callplaneBinary());
  log(`callplane: ${config.httpsBase} (CA ${config.caFile})`);
  exitCode = await runTests(config);
} catch (err) {
  log(err.stack ?? String(err));
} finally {
  await cleanUp();
}
process.exit(exitCode);
