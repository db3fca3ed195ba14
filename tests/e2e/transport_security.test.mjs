// P3: traffic to a provider uses TLS with verified certificates; plain http is
// allowed only to loopback unless the user passes --allow-insecure. These tests run
// joey against a TLS front for the scripted provider whose certificate is made
// fresh per run and trusted only when the test says so (SSL_CERT_FILE).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startScriptedProvider } from './scripted_provider.mjs';
import { joeyMissing, makeSandbox, runJoey, parseJsonLines, eventsOfType, fakeKey, keyLeaks } from './helpers.mjs';

let certDir;
before(() => {
  certDir = mkdtempSync(path.join(tmpdir(), 'joey-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem'),
  ], { stdio: 'ignore' });
});
after(() => rmSync(certDir, { recursive: true, force: true }));

// A TLS server on loopback that forwards the decrypted bytes to `port`.
// `handshakes` counts completed TLS sessions: a refused certificate completes none.
async function startTlsFront(port) {
  const state = { handshakes: 0 };
  const server = tls.createServer({
    key: readFileSync(path.join(certDir, 'key.pem')),
    cert: readFileSync(path.join(certDir, 'cert.pem')),
  }, (socket) => {
    state.handshakes += 1;
    const upstream = net.connect(port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  server.on('tlsClientError', () => {});
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `https://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((resolve) => server.close(resolve));
  return state;
}

const completeTurn = { tool_calls: [{ name: 'attempt_completion', arguments: { result: 'done over TLS' } }] };

test('an untrusted certificate is refused before any request is sent', { skip: joeyMissing }, async (t) => {
  const provider = await startScriptedProvider({ turns: [completeTurn] });
  const front = await startTlsFront(new URL(provider.url).port);
  const sandbox = await makeSandbox();
  t.after(async () => { await front.close(); await provider.close(); await sandbox.cleanup(); });
  const key = fakeKey('openai');
  const result = await runJoey(
    ['run', '--provider', 'openai-compatible', '--base-url', `${front.url}/v1`, '--model', 'm', '--yes', '--output', 'json', 'say done'],
    { sandbox, env: { OPENAI_COMPATIBLE_API_KEY: key } });
  assert.equal(result.code, 1, result.output());
  const errors = eventsOfType(parseJsonLines(result.stdout), 'error');
  assert.equal(errors.length, 1, result.output());
  assert.match(errors[0].message, /certificate/i);
  assert.equal(front.handshakes, 0, 'no TLS session may be completed with an untrusted server');
  assert.equal(provider.requests.length, 0, 'the request (and its key) must never be sent');
  assert.ok(!result.stdout.includes(key) && !result.stderr.includes(key));
});

test('a certificate trusted through SSL_CERT_FILE carries the task over TLS', { skip: joeyMissing }, async (t) => {
  const provider = await startScriptedProvider({ turns: [completeTurn] });
  const front = await startTlsFront(new URL(provider.url).port);
  const sandbox = await makeSandbox();
  t.after(async () => { await front.close(); await provider.close(); await sandbox.cleanup(); });
  const key = fakeKey('openai');
  const result = await runJoey(
    ['run', '--provider', 'openai-compatible', '--base-url', `${front.url}/v1`, '--model', 'm', '--yes', '--output', 'json', 'say done'],
    { sandbox, env: { OPENAI_COMPATIBLE_API_KEY: key, SSL_CERT_FILE: path.join(certDir, 'cert.pem') } });
  assert.equal(result.code, 0, result.output());
  assert.equal(eventsOfType(parseJsonLines(result.stdout), 'completion')[0].result, 'done over TLS');
  assert.ok(front.handshakes >= 1);
  assert.deepEqual(keyLeaks('openai', provider, key, result), []);
});

test('plain http to a host other than loopback is refused without --allow-insecure', { skip: joeyMissing }, async (t) => {
  const sandbox = await makeSandbox();
  t.after(() => sandbox.cleanup());
  const result = await runJoey(
    ['run', '--provider', 'openai-compatible', '--base-url', 'http://models.example.invalid/v1', '--model', 'm', '--yes', 'say done'],
    { sandbox, env: { OPENAI_COMPATIBLE_API_KEY: fakeKey('openai') } });
  assert.equal(result.code, 2, result.output());
  assert.match(result.stderr, /https/);
  assert.match(result.stderr, /--allow-insecure/);
});

// An HTTP CONNECT proxy on loopback that records the targets it tunnels to.
async function startConnectProxy() {
  const state = { tunnels: [] };
  const server = http.createServer((req, res) => { res.writeHead(405); res.end(); });
  server.on('connect', (req, socket, head) => {
    state.tunnels.push(req.url);
    const [host, port] = req.url.split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${server.address().port}`;
  state.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return state;
}

test('HTTPS_PROXY carries the TLS connection, and NO_PROXY bypasses it', { skip: joeyMissing }, async (t) => {
  const provider = await startScriptedProvider({ turns: [completeTurn, completeTurn] });
  const front = await startTlsFront(new URL(provider.url).port);
  const proxy = await startConnectProxy();
  const sandbox = await makeSandbox();
  t.after(async () => { await proxy.close(); await front.close(); await provider.close(); await sandbox.cleanup(); });
  const args = ['run', '--provider', 'openai-compatible', '--base-url', `${front.url}/v1`, '--model', 'm', '--yes', '--output', 'json', 'say done'];
  const env = { OPENAI_COMPATIBLE_API_KEY: fakeKey('openai'), SSL_CERT_FILE: path.join(certDir, 'cert.pem'), HTTPS_PROXY: proxy.url };

  const proxied = await runJoey(args, { sandbox, env });
  assert.equal(proxied.code, 0, proxied.output());
  assert.deepEqual(proxy.tunnels, [new URL(front.url).host], 'the request must go through the proxy');

  const bypassed = await runJoey(args, { sandbox, env: { ...env, NO_PROXY: '127.0.0.1' } });
  assert.equal(bypassed.code, 0, bypassed.output());
  assert.equal(proxy.tunnels.length, 1, 'NO_PROXY must bypass the proxy');
});

// --ca-cert FILE (and the user-level setting tls.ca_cert) adds a trust anchor to the
// system store: the self-signed provider is refused with an error naming its host and
// the flag, then accepted with its certificate, and the key still travels only in its
// own auth header.
test('--ca-cert and tls.ca_cert trust a self-signed provider that is refused without them', { skip: joeyMissing }, async (t) => {
  const provider = await startScriptedProvider({ turns: [completeTurn, completeTurn] });
  const front = await startTlsFront(new URL(provider.url).port);
  const sandbox = await makeSandbox();
  t.after(async () => { await front.close(); await provider.close(); await sandbox.cleanup(); });
  const key = fakeKey('openai');
  const cert = path.join(certDir, 'cert.pem');
  const args = ['run', '--provider', 'openai-compatible', '--base-url', `${front.url}/v1`, '--model', 'm', '--yes', '--output', 'json'];
  const env = { OPENAI_COMPATIBLE_API_KEY: key };

  const refused = await runJoey([...args, 'say done'], { sandbox, env });
  assert.equal(refused.code, 1, refused.output());
  const error = eventsOfType(parseJsonLines(refused.stdout), 'error')[0]?.message ?? '';
  assert.match(error, /127\.0\.0\.1/, 'the error names the host');
  assert.match(error, /--ca-cert/, 'the error says how to trust it');
  assert.equal(front.handshakes, 0);

  const flagged = await runJoey([...args, '--ca-cert', cert, 'say done'], { sandbox, env });
  assert.equal(flagged.code, 0, flagged.output());
  assert.equal(eventsOfType(parseJsonLines(flagged.stdout), 'completion')[0].result, 'done over TLS');

  await writeFile(path.join(sandbox.home, 'config.toml'), `[tls]\nca_cert = ${JSON.stringify(cert)}\n`);
  const configured = await runJoey([...args, 'say done'], { sandbox, env });
  assert.equal(configured.code, 0, configured.output());
  assert.equal(provider.requests.filter((request) => request.method === 'POST').length, 2);
  assert.deepEqual(keyLeaks('openai', provider, key, flagged), []);
  assert.deepEqual(keyLeaks('openai', provider, key, configured), []);

  const missing = await runJoey([...args, '--ca-cert', path.join(certDir, 'nope.pem'), 'say done'], { sandbox, env });
  assert.equal(missing.code, 2, missing.output());
  assert.match(missing.stderr, /nope\.pem/);
});
