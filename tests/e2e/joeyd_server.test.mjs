// Black-box tests of the joeyd binary's server core: it prints the address it listens
// on, answers /healthz, /readyz and /metrics, gives JSON errors for unknown routes and
// bad bodies, writes an access log without paths or query strings, creates its data
// directory 0700, stops with exit 0 on SIGTERM, and refuses bad usage with exit 2.
// The binary is JOEYD_BIN, or `joeyd` beside JOEY_BIN; skipped when it is missing.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdtemp, rm, stat} from 'node:fs/promises';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {joeydMissing, runJoeyd, startJoeyd, stopJoeyd} from './joeyd.mjs';

const skip = joeydMissing;

describe('joeyd serve', {skip}, () => {
  let root;
  let server;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'joeyd-e2e-'));
    server = await startJoeyd(
        ['--listen', '127.0.0.1:0', '--data', path.join(root, 'data', 'nested')], {home: root});
  });

  after(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await rm(root, {recursive: true, force: true});
  });

  test('prints a loopback URL with the port it picked', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(server.url).port, '0');
  });

  test('creates the data directory 0700', async () => {
    const info = await stat(path.join(root, 'data', 'nested'));
    assert.equal(info.mode & 0o777, 0o700);
  });

  test('answers /healthz and /readyz', async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {status: 'ok'});
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {status: 'ready'});
  });

  test('gives a JSON error for an unknown route and a wrong method', async () => {
    const missing = await fetch(`${server.url}/api/does-not-exist?token=canary-query-7c1`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type'), /^application\/json/);
    const body = await missing.json();
    assert.equal(body.error.code, 'not_found');
    assert.equal(typeof body.error.message, 'string');
    const wrong = await fetch(`${server.url}/healthz`, {method: 'POST', body: 'x'});
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET');
  });

  test('refuses a huge header and an unread body, and stays up', async () => {
    const huge = await rawRequest(
        server.url, `GET /readyz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(40_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    assert.match(huge, /"code":"header_too_large"/);
    // The probes take no POST: the answer comes from the request line, the body unread.
    const unread = await rawRequest(
        server.url, 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n');
    assert.match(unread, /^HTTP\/1\.1 405 /);
    assert.match(unread, /Connection: close/i);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('exports Prometheus metrics by route template', async () => {
    await fetch(`${server.url}/healthz`);
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /joeyd_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    assert.match(text, /joeyd_http_request_duration_seconds_bucket\{route="\/healthz",le="\+Inf"\} \d+/);
    assert.match(text, /^joeyd_http_open_connections \d+/m);
    assert.doesNotMatch(text, /does-not-exist|canary-query/);
  });

  test('stops with exit 0 on SIGTERM, and its log holds no path or query', async () => {
    const {code, signal} = await stopJoeyd(server);
    assert.equal(signal, null);
    assert.equal(code, 0, server.stderr);
    assert.match(server.stderr, /http_request method=GET route=\/healthz status=200/);
    assert.doesNotMatch(server.stderr, /canary-query|does-not-exist/);
  });
});

function rawRequest(url, text) {
  const {hostname, port} = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in time')));
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', (error) => (data ? resolve(data) : reject(error)));
    socket.on('close', () => resolve(data));
  });
}

describe('joeyd serve --max-connections', {skip}, () => {
  test('closes connections past the limit at once, counts them, and serves the rest', async (t) => {
    const root = await mkdtemp(path.join(tmpdir(), 'joeyd-e2e-'));
    const limited = await startJoeyd(
        ['--listen', '127.0.0.1:0', '--data', path.join(root, 'data'), '--max-connections', '2'], {home: root});
    const held = [];
    t.after(async () => {
      for (const socket of held) socket.destroy();
      await stopJoeyd(limited);
      await rm(root, {recursive: true, force: true});
    });
    const {port} = new URL(limited.url);
    const open = () => new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });
    // Two connections held open (each with a request answered, so joeyd has taken them).
    for (let i = 0; i < 2; ++i) {
      const socket = await open();
      held.push(socket);
      const answered = new Promise((resolve) => socket.once('data', resolve));
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await answered;
    }
    // The third is closed without an answer.
    const third = await open();
    const ended = await new Promise((resolve) => {
      let data = '';
      third.on('data', (chunk) => (data += chunk));
      third.on('close', () => resolve(data));
      third.on('error', () => {});
      third.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.equal(ended, '');
    // Once one of the two goes, a new connection is served (as soon as joeyd has seen the
    // first one close); the refusal was counted.
    held.shift().destroy();
    let metrics = null;
    for (let attempt = 0; attempt < 50 && metrics === null; ++attempt) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await fetch(`${limited.url}/metrics`).catch(() => null);
      if (response?.status === 200) metrics = await response.text();
    }
    assert.ok(metrics !== null, 'a connection was served once a slot was free');
    const rejected = Number(/^joeyd_http_rejected_connections_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(rejected >= 1, `rejected connections counted: ${rejected}`);
  });
});

describe('joeyd usage', {skip}, () => {
  test('--version names joeyd', async () => {
    const result = await runJoeyd(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^joeyd \d+\.\d+\.\d+/);
  });

  test('bad usage exits 2 with an error', async () => {
    for (const args of [[], ['serve', '--no-such-flag'], ['serve', '--listen', 'nonsense'],
                        ['serve', '--listen', '127.0.0.1:99999'], ['serve', '--threads', '0'],
                        ['serve', '--max-connections', '0'],
                        ['serve', '--database', 'mysql://x'], ['serve', '--tls-cert', 'only.pem']]) {
      const result = await runJoeyd(args);
      assert.equal(result.code, 2, `joeyd ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^joeyd: error: /, `joeyd ${args.join(' ')}`);
    }
  });

  test('a port in use and unreadable TLS files exit 1', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'joeyd-e2e-'));
    const blocker = net.createServer();
    await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const busy = await runJoeyd(
          ['serve', '--listen', `127.0.0.1:${blocker.address().port}`, '--data', root], {home: root});
      assert.equal(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, /^joeyd: error: cannot listen on/m);
      const tls = await runJoeyd(
          ['serve', '--listen', '127.0.0.1:0', '--data', root, '--tls-cert',
           path.join(root, 'missing-cert.pem'), '--tls-key', path.join(root, 'missing-key.pem')],
          {home: root});
      assert.equal(tls.code, 1, tls.stderr);
      assert.match(tls.stderr, /^joeyd: error: .*missing-cert\.pem/m);
    } finally {
      blocker.close();
      await rm(root, {recursive: true, force: true});
    }
  });
});
