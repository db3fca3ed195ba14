// P2 end to end: a canary key — fresh and random every run — given to joey through each
// path (its environment variable, `joey auth set`) travels only in the auth header of
// requests to its own provider. It appears in no file under $JOEY_HOME except the
// secrets file (history, checkpoints, egress log, telemetry queue and machine files
// included), in no stdout or stderr, and in no request the telemetry server receives —
// during a task that reads, writes, runs a command and completes with telemetry on.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {complete, filesUnder, joeyMissing, keyLeaks, makeSandbox, modelRequests, parseJsonLines, runJoey} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';
import {startTelemetryServer} from './telemetry_server.mjs';

const turns = [
  {text: 'Reading first.', tool_calls: [{name: 'read_file', arguments: {path: 'notes.txt'}}]},
  {tool_calls: [{name: 'write_to_file', arguments: {path: 'notes.txt', content: 'edited\n', line_count: 1}}]},
  {tool_calls: [{name: 'execute_command', arguments: {command: 'echo ran; env | grep -c _API_KEY || true'}}]},
  complete('Edited the notes.'),
];

for (const path_ of ['environment', 'joey auth set']) {
  describe(`canary key given through ${path_}`, {skip: joeyMissing}, () => {
    test('travels only in its own auth header and is written nowhere but the secrets file', async (t) => {
      const sandbox = await makeSandbox();
      const provider = await startScriptedProvider({turns, models: ['canary-model']});
      const telemetry = await startTelemetryServer();
      t.after(async () => {
        await provider.close();
        await telemetry.close();
        await sandbox.cleanup();
      });
      await writeFile(path.join(sandbox.workspace, 'notes.txt'), 'original\n');
      const key = `sk-ant-canary-${randomBytes(24).toString('hex')}`;
      const env = {JOEY_TELEMETRY: '1', DO_NOT_TRACK: '', JOEY_TELEMETRY_HOST: telemetry.url};
      let setOutput = '';
      if (path_ === 'environment') {
        env.ANTHROPIC_API_KEY = key;
      } else {
        const set = await runJoey(['auth', 'set', 'anthropic'], {sandbox, input: key + '\n'});
        assert.equal(set.code, 0, set.output());
        setOutput = set.stdout + set.stderr;
      }
      const run = await runJoey(
          [
            'run', '--provider', 'anthropic', '--base-url', provider.url, '--model', 'canary-model',
            '--yes', '--output', 'json', '--cwd', sandbox.workspace, 'Edit the notes'
          ],
          {sandbox, env});
      assert.equal(run.code, 0, run.output());
      assert.ok(modelRequests(provider).length >= 4, run.output());

      // Requests: only in x-api-key of the provider's requests; nowhere in telemetry.
      assert.deepEqual(keyLeaks('anthropic', provider, key, run), []);
      for (const request of modelRequests(provider)) assert.equal(request.headers['x-api-key'], key);
      assert.ok(telemetry.requests.length > 0, 'telemetry was on, so something was sent');
      for (const request of telemetry.requests) {
        assert.ok(!JSON.stringify(request).includes(key), `telemetry ${request.method} ${request.path}`);
      }
      // Output of every command run.
      assert.ok(!(run.stdout + run.stderr + setOutput).includes(key), 'stdout/stderr');
      // The command the model ran saw no key variable at all.
      assert.match(JSON.stringify(modelRequests(provider)[3].body), /ran\\n0\\n/);

      // Files: every byte under $JOEY_HOME, but the secrets file when the store holds it.
      const files = await filesUnder(sandbox.home);
      assert.ok(files.some((file) => file.endsWith('history.db')), files.join('\n'));
      assert.ok(files.some((file) => file.endsWith('egress.log')), files.join('\n'));
      const needle = Buffer.from(key);
      const holding = [];
      for (const file of files) {
        if ((await readFile(file)).includes(needle)) holding.push(path.relative(sandbox.home, file));
      }
      assert.deepEqual(holding, path_ === 'environment' ? [] : ['secrets.json']);
    });
  });
}

// History (P2): a key the model reads from a workspace file and echoes back — in its
// text, in a tool call's arguments, in its completion — is stored as [REDACTED]. Here
// the provider key itself is shapeless (no "sk-" prefix), so only the exact-value rule
// can catch it, and an AWS-shaped key in the same file tests the shape rule.
describe('a key the model reads and echoes', {skip: joeyMissing}, () => {
  test('is never stored in history', async (t) => {
    const sandbox = await makeSandbox();
    const key = `canary${randomBytes(20).toString('hex')}`;
    const aws = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const echo = [
      {tool_calls: [{name: 'read_file', arguments: {path: 'config.txt'}}]},
      {
        text: `The file holds ${key} and ${aws}.`,
        tool_calls: [{name: 'write_to_file', arguments: {path: 'copy.txt', content: `${key}\n${aws}\n`, line_count: 2}}]
      },
      complete(`Copied ${key}.`),
    ];
    const provider = await startScriptedProvider({turns: echo, models: ['canary-model']});
    t.after(async () => {
      await provider.close();
      await sandbox.cleanup();
    });
    await writeFile(path.join(sandbox.workspace, 'config.txt'), `API_KEY=${key}\nAWS=${aws}\n`);
    const run = await runJoey(
        [
          'run', '--provider', 'anthropic', '--base-url', provider.url, '--model', 'canary-model',
          '--yes', '--output', 'json', '--cwd', sandbox.workspace, `Copy the keys, ${key}`
        ],
        {sandbox, env: {ANTHROPIC_API_KEY: key}});
    assert.equal(run.code, 0, run.output());
    // The model really did see and echo both (the user's file is the user's to send).
    assert.ok(JSON.stringify(modelRequests(provider)[1].body).includes(aws));
    assert.equal(await readFile(path.join(sandbox.workspace, 'copy.txt'), 'utf8'), `${key}\n${aws}\n`);

    // Checkpoints are a copy of the user's own files, config.txt included, so they are
    // left out; every other file under $JOEY_HOME — history.db and its WAL first — is not.
    const files = (await filesUnder(sandbox.home)).filter((file) => !file.includes(`${path.sep}checkpoints${path.sep}`));
    assert.ok(files.some((file) => file.endsWith('history.db')), files.join('\n'));
    const holding = [];
    for (const file of files) {
      const bytes = await readFile(file);
      if (bytes.includes(Buffer.from(key)) || bytes.includes(Buffer.from(aws))) holding.push(path.relative(sandbox.home, file));
    }
    assert.deepEqual(holding, []);

    const shown = await runJoey(['history', 'show', parseJsonLines(run.stdout).find((e) => e.type === 'task_started').task_id], {sandbox});
    assert.equal(shown.code, 0, shown.output());
    assert.match(shown.stdout, /\[REDACTED\]/);
    assert.ok(!shown.stdout.includes(key) && !shown.stdout.includes(aws), shown.stdout);
  });
});
