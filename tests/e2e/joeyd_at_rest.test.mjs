// P8 and P12 through the built joeyd: canaries stored through the API — an organization's
// rules (settings), an organization provider key, a password, a personal access token —
// are found in no file of the data directory (database, WAL, key file) and in none of
// joeyd's log output, while the organization's name is (so the scan does read them), and
// the settings and key still work through the API. Then `joeyd keys rotate-kek` re-wraps
// the organization's data key and the settings still open after a restart.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';

import {filesUnder} from './helpers.mjs';
import {joeydApi as api, joeydMissing, runJoeyd, startJoeyd, stopJoeyd} from './joeyd.mjs';

async function bytesUnder(dir) {
  return Buffer.concat(await Promise.all((await filesUnder(dir)).map((file) => readFile(file))));
}

describe('joeyd keeps secrets encrypted at rest', {skip: joeydMissing}, () => {
  test('no canary in the data directory or the logs; rotate-kek keeps the data readable', async (t) => {
    const root = await mkdtemp(path.join(tmpdir(), 'joeyd-at-rest-'));
    t.after(() => rm(root, {recursive: true, force: true}));
    const data = path.join(root, 'data');
    const canary = (label) => `${label}-canary-${randomBytes(12).toString('hex')}`;
    const rules = canary('rules');
    const providerKey = canary('sk-provider');
    const password = canary('password');
    const orgName = canary('orgname');

    let server = await startJoeyd(['--listen', '127.0.0.1:0', '--data', data], {home: root});
    const signup = await api(server, 'POST', '/api/auth/signup',
                             {body: {email: 'ada@example.com', password, name: 'Ada'}});
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    const created = await api(server, 'POST', '/api/tokens', {body: {name: 'cli'}, cookie: signup.cookie});
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const token = created.body.token;
    const org = await api(server, 'POST', '/api/orgs', {body: {name: orgName}, token});
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const id = org.body.id;
    const patched = await api(server, 'PATCH', `/api/orgs/${id}/settings`, {body: {version: 1, rules}, token});
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const put = await api(server, 'PUT', `/api/orgs/${id}/provider-keys/openai`, {body: {api_key: providerKey}, token});
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.last4, providerKey.slice(-4));
    assert.equal((await api(server, 'GET', `/api/orgs/${id}/settings`, {token})).body.rules, rules);
    const stopped = await stopJoeyd(server);
    assert.equal(stopped.code, 0);

    const stored = await bytesUnder(data);
    const logs = server.stdout + server.stderr;
    assert.ok(stored.includes(Buffer.from(orgName)), 'the scan reads the database');
    for (const [label, secret] of Object.entries({rules, providerKey, password, token})) {
      assert.ok(!stored.includes(Buffer.from(secret)), `${label} is in the data directory in the clear`);
      assert.ok(!logs.includes(secret), `${label} is in joeyd's log`);
    }

    const rotated = await runJoeyd(['keys', 'rotate-kek', '--data', data], {home: root});
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /re-wrapped 1 data key/);

    server = await startJoeyd(['--listen', '127.0.0.1:0', '--data', data], {home: root});
    t.after(() => stopJoeyd(server));
    const after = await api(server, 'GET', `/api/orgs/${id}/settings`, {token});
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.rules, rules);
  });
});
