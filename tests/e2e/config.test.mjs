// Black-box tests of `joey config`: get, set, unset, list --show-origin and path
// against the built binary, each with a fresh JOEY_HOME and workspace. Skipped with
// the reason when the binary is missing or does not know the `config` command yet.

import assert from 'node:assert/strict';
import {readFile, stat, writeFile, mkdir} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {joeyMissing, makeSandbox, runJoey} from './helpers.mjs';

async function configMissing() {
  if (joeyMissing) return joeyMissing;
  const sandbox = await makeSandbox();
  try {
    const probe = await runJoey(['config', 'path'], {sandbox});
    if (probe.code === 2 && probe.stderr.includes('config')) {
      return `this joey binary has no \`config\` command (stderr: ${probe.stderr.trim().slice(0, 200)})`;
    }
    return false;
  } finally {
    await sandbox.cleanup();
  }
}

const skip = await configMissing();

describe('joey config', {skip}, () => {
  const config = (sandbox, args, env = {}) =>
      runJoey(['config', ...args, '--cwd', sandbox.workspace], {sandbox, env});

  test('set then get round-trips a value into a 0600 global file', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const set = await config(sandbox, ['set', 'model', 'gpt-e2e']);
    assert.equal(set.code, 0, set.output());
    const got = await config(sandbox, ['get', 'model']);
    assert.equal(got.code, 0, got.output());
    assert.equal(got.stdout, 'gpt-e2e\n');
    const file = path.join(sandbox.home, 'config.toml');
    assert.match(await readFile(file, 'utf8'), /^model = 'gpt-e2e'$/m);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test('set telemetry off takes on/off for a boolean', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    assert.equal((await config(sandbox, ['set', 'telemetry', 'off'])).code, 0);
    // The test environment sets DO_NOT_TRACK; without it the file's value shows.
    const got = await config(sandbox, ['get', 'telemetry'], {DO_NOT_TRACK: '', JOEY_TELEMETRY: ''});
    assert.equal(got.stdout, 'false\n', got.output());
  });

  test('list --show-origin names each layer', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    assert.equal((await config(sandbox, ['set', 'max_requests', '7'])).code, 0);
    assert.equal((await config(sandbox, ['set', 'model', 'ws-model', '--workspace'])).code, 0);
    const listed = await config(sandbox, ['list', '--show-origin'], {JOEY_MODE: 'ask'});
    assert.equal(listed.code, 0, listed.output());
    const lines = listed.stdout.trim().split('\n');
    const globalFile = path.join(sandbox.home, 'config.toml');
    const workspaceFile = path.join(sandbox.workspace, '.joey', 'config.toml');
    assert.ok(lines.includes(`${globalFile}:1\tmax_requests = 7`), listed.stdout);
    assert.ok(lines.includes(`${workspaceFile}:1\tmodel = 'ws-model'`), listed.stdout);
    assert.ok(lines.includes(`env JOEY_MODE\tmode = 'ask'`), listed.stdout);
    assert.ok(lines.includes(`default\toutput = 'text'`), listed.stdout);
  });

  test('unset removes the key and keeps the comments', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const file = path.join(sandbox.home, 'config.toml');
    await writeFile(file, '# mine\nmodel = "m"\nmode = "ask" # usual\n', {mode: 0o600});
    const unset = await config(sandbox, ['unset', 'model']);
    assert.equal(unset.code, 0, unset.output());
    assert.equal(await readFile(file, 'utf8'), '# mine\nmode = "ask" # usual\n');
    const got = await config(sandbox, ['get', 'model']);
    assert.equal(got.code, 1);
    assert.match(got.stderr, /joey: error: 'model' is not set/);
  });

  test('path prints the global and workspace files', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const paths = await config(sandbox, ['path']);
    assert.equal(paths.code, 0, paths.output());
    assert.equal(paths.stdout,
                 `global: ${path.join(sandbox.home, 'config.toml')}\n` +
                     `workspace: ${path.join(sandbox.workspace, '.joey', 'config.toml')}\n`);
  });

  test('a workspace file cannot redirect the Cloud URL', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const refused = await config(sandbox, ['set', 'cloud.url', 'https://evil.example', '--workspace']);
    assert.equal(refused.code, 2, refused.output());
    assert.match(refused.stderr, /'cloud\.url' cannot be set in a workspace file/);
    // Written by hand (a cloned repository), it stops joey with file and line.
    await mkdir(path.join(sandbox.workspace, '.joey'));
    await writeFile(path.join(sandbox.workspace, '.joey', 'config.toml'),
                    '# repo\n[cloud]\nurl = "https://evil.example"\n');
    const listed = await config(sandbox, ['list']);
    assert.equal(listed.code, 1, listed.output());
    assert.match(listed.stderr, /\.joey\/config\.toml:3: 'cloud\.url' cannot be set in a workspace file/);
  });

  test('unknown keys and bad values are usage errors', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const unknown = await config(sandbox, ['set', 'modle', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown setting 'modle'/);
    const bad = await config(sandbox, ['set', 'max_requests', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'max_requests' expects a whole number greater than 0/);
  });
});
