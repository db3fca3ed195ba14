// Black-box tests of `joey auth` (P2): a key piped to `joey auth set` lands in a 0600
// secrets file in a 0700 $JOEY_HOME, `joey auth list` shows only its last four
// characters, the key appears in no output, and a secrets file others can read is
// refused with the chmod that fixes it. The sandbox has no D-Bus session, so the file
// backend is the one in use. Skipped with the reason when the binary is missing or does
// not know the `auth` command yet.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {chmod, readFile, readdir, stat} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {joeyMissing, makeSandbox, modelRequests, runJoey} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

async function authMissing() {
  if (joeyMissing) return joeyMissing;
  const sandbox = await makeSandbox();
  try {
    const probe = await runJoey(['auth', 'list'], {sandbox});
    if (probe.code === 2 && probe.stderr.includes('auth')) {
      return `this joey binary has no \`auth\` command (stderr: ${
          probe.stderr.trim().slice(0, 200)})`;
    }
    return false;
  } finally {
    await sandbox.cleanup();
  }
}

const skip = await authMissing();

// A fresh canary key per run, so a leak cannot hide behind a fixed string.
const canaryKey = () => `sk-ant-canary-${randomBytes(20).toString('hex')}`;

const modeOf = async (file) => (await stat(file)).mode & 0o777;

async function withSandbox(t) {
  const sandbox = await makeSandbox();
  t.after(() => sandbox.cleanup());
  return sandbox;
}

function assertNoKey(run, key) {
  assert.ok(!run.stdout.includes(key), `stdout carries the key\n${run.output()}`);
  assert.ok(!run.stderr.includes(key), `stderr carries the key\n${run.output()}`);
}

describe('joey auth', {skip}, () => {
  test('set from a pipe stores the key 0600; list shows only the last four', async (t) => {
    const sandbox = await withSandbox(t);
    const key = canaryKey();
    const set = await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: `${key}\n`});
    assert.equal(set.code, 0, set.output());
    assertNoKey(set, key);
    assert.match(set.stdout, new RegExp(`stored the anthropic key \\(…${key.slice(-4)}\\)`));
    assert.match(set.stdout, /secrets\.json \(0600\)/);

    const file = path.join(sandbox.home, 'secrets.json');
    assert.equal(await modeOf(file), 0o600);
    assert.equal(await modeOf(sandbox.home), 0o700);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), {version: 1, keys: {anthropic: key}});

    const list = await runJoey(['auth', 'list'], {sandbox});
    assert.equal(list.code, 0, list.output());
    assertNoKey(list, key);
    assert.match(list.stdout, new RegExp(`^anthropic\\s+…${key.slice(-4)}\\s+file$`, 'm'));

    // No other file under $JOEY_HOME holds the key.
    for (const name of await readdir(sandbox.home, {recursive: true})) {
      const full = path.join(sandbox.home, name);
      if (name === 'secrets.json' || !(await stat(full)).isFile()) continue;
      assert.ok(!(await readFile(full, 'utf8')).includes(key), `${name} holds the key`);
    }
  });

  test('list names the environment variable that overrides a stored key', async (t) => {
    const sandbox = await withSandbox(t);
    const key = canaryKey();
    assert.equal((await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: key})).code, 0);
    const envKey = canaryKey();
    const list = await runJoey(['auth', 'list'], {sandbox, env: {ANTHROPIC_API_KEY: envKey}});
    assert.equal(list.code, 0, list.output());
    assert.match(list.stdout, /overridden by ANTHROPIC_API_KEY/);
    assertNoKey(list, key);
    assertNoKey(list, envKey);
  });

  test('set --from-env reads the named variable', async (t) => {
    const sandbox = await withSandbox(t);
    const key = canaryKey();
    const set = await runJoey(
        ['auth', 'set', 'openrouter', '--from-env', 'MY_ROUTER_KEY'],
        {sandbox, env: {MY_ROUTER_KEY: key}});
    assert.equal(set.code, 0, set.output());
    assertNoKey(set, key);
    const stored = JSON.parse(await readFile(path.join(sandbox.home, 'secrets.json'), 'utf8'));
    assert.equal(stored.keys.openrouter, key);
  });

  test('an empty key, an unknown provider and a local provider are refused', async (t) => {
    const sandbox = await withSandbox(t);
    const empty = await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: '\n'});
    assert.equal(empty.code, 2, empty.output());
    assert.match(empty.stderr, /joey: error: the key is empty/);

    const key = canaryKey();
    const unknown = await runJoey(['auth', 'set', key], {sandbox, input: `${key}\n`});
    assert.equal(unknown.code, 2, unknown.output());
    assert.match(unknown.stderr, /unknown provider/);
    assertNoKey(unknown, key);

    const local = await runJoey(['auth', 'set', 'ollama'], {sandbox, input: `${key}\n`});
    assert.equal(local.code, 2, local.output());
    assert.match(local.stderr, /takes no API key/);
  });

  test('remove deletes the key and exits 1 when there is none', async (t) => {
    const sandbox = await withSandbox(t);
    const key = canaryKey();
    assert.equal((await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: key})).code, 0);
    const removed = await runJoey(['auth', 'remove', 'anthropic'], {sandbox});
    assert.equal(removed.code, 0, removed.output());
    const file = await readFile(path.join(sandbox.home, 'secrets.json'), 'utf8');
    assert.ok(!file.includes(key));
    const again = await runJoey(['auth', 'remove', 'anthropic'], {sandbox});
    assert.equal(again.code, 1, again.output());
    assert.match(again.stderr, /no stored key for anthropic/);
  });

  test('a secrets file readable by others (0644) is refused with the fix', async (t) => {
    const sandbox = await withSandbox(t);
    const key = canaryKey();
    assert.equal((await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: key})).code, 0);
    const file = path.join(sandbox.home, 'secrets.json');
    await chmod(file, 0o644);
    const list = await runJoey(['auth', 'list'], {sandbox});
    assert.equal(list.code, 1, list.output());
    assert.ok(list.stderr.includes(`chmod 600 ${file}`), list.output());
    assertNoKey(list, key);
  });

  test('joey run uses the stored key, only in its own auth header', async (t) => {
    const sandbox = await withSandbox(t);
    const provider = await startScriptedProvider({
      turns: [{tool_calls: [{name: 'attempt_completion', arguments: {result: 'ok'}}]}],
      models: ['scripted-model-1'],
    });
    t.after(() => provider.close());
    const key = canaryKey();
    assert.equal((await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: key})).code, 0);
    const run = await runJoey(
        [
          'run', '--provider', 'anthropic', '--base-url', provider.url, '--model',
          'scripted-model-1', '--yes', '--output', 'json', '--cwd', sandbox.workspace, 'Say ok'
        ],
        {sandbox});
    assert.equal(run.code, 0, run.output());
    assertNoKey(run, key);
    const requests = modelRequests(provider);
    assert.ok(requests.length >= 1, run.output());
    for (const request of provider.requests) {
      assert.equal(request.headers['x-api-key'], key);
      for (const [name, value] of Object.entries(request.headers)) {
        if (name !== 'x-api-key') assert.ok(!String(value).includes(key), `header ${name}`);
      }
      const body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      assert.ok(!body.includes(key), 'a request body carries the key');
    }
  });
});
