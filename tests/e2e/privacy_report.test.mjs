// P13: after a task, `joey privacy report` lists the model endpoint the task talked to,
// with purpose "model" and one request per model turn, and the egress log behind it
// holds no body text, no header value and no query string.

import {test} from 'node:test';
import assert from 'node:assert/strict';
import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';

import {complete, joeyMissing, runJoey, runTask} from './helpers.mjs';

const kCanary = `egress-canary-${process.pid}-${Date.now()}`;

// Why the report cannot be checked yet, or false.
async function notReady(sandbox) {
  const probe = await runJoey(['privacy', 'report', '--json'], {sandbox});
  if (probe.code !== 0 && /privacy/.test(probe.stderr)) {
    return 'this joey has no `privacy report` command yet';
  }
  if (!existsSync(path.join(sandbox.home, 'egress.log'))) {
    return 'this joey does not write $JOEY_HOME/egress.log yet (the egress log is not wired)';
  }
  return false;
}

test('privacy report lists the provider host with purpose model after a task', {skip: joeyMissing}, async (t) => {
  const run = await runTask(t, 'openai', {
    turns: [
      {tool_calls: [{name: 'read_file', arguments: {path: 'greet.txt'}}]},
      complete('Read it.'),
    ],
    files: {'greet.txt': `hello ${kCanary}-file\n`},
    task: `Read greet.txt (${kCanary}-task)`,
  });
  assert.equal(run.result.code, 0, run.result.output());
  const reason = await notReady(run.sandbox);
  if (reason) {
    t.skip(reason);
    return;
  }
  const host = new URL(run.provider.url).host;  // 127.0.0.1:PORT

  const report = await runJoey(['privacy', 'report', '--json'], {sandbox: run.sandbox});
  assert.equal(report.code, 0, report.output());
  const parsed = JSON.parse(report.stdout);
  const group = parsed.groups.find((g) => g.host === host && g.purpose === 'model');
  assert.ok(group, `no model group for ${host} in ${report.stdout}`);
  assert.equal(group.requests, run.requests.length);
  assert.equal(group.promises, 'P1, P2, P3');
  assert.equal(parsed.skipped_lines, 0);

  const text = await runJoey(['privacy', 'report', '--since', '24h'], {sandbox: run.sandbox});
  assert.equal(text.code, 0, text.output());
  assert.match(text.stdout, new RegExp(`${host.replace(/\./g, '\\.')}\\s+purpose: model`));

  const egress = readFileSync(path.join(run.sandbox.home, 'egress.log'), 'utf8');
  for (const line of egress.trim().split('\n')) {
    const entry = JSON.parse(line);
    assert.deepEqual(
        Object.keys(entry).sort(),
        ['host', 'method', 'purpose', 'received', 'sent', 'status', 'time']);
  }
  assert.ok(!egress.includes(kCanary), 'no body text in the egress log');
  assert.ok(!egress.includes(run.key), 'no header value in the egress log');
  assert.ok(!egress.includes('/v1') && !egress.includes('?'), 'no path or query in the egress log');
});

test('privacy report rejects a malformed --since', {skip: joeyMissing}, async (t) => {
  const run = await runTask(t, 'openai', {turns: [complete()]});
  const reason = await notReady(run.sandbox);
  if (reason) {
    t.skip(reason);
    return;
  }
  const result = await runJoey(['privacy', 'report', '--since', 'soon'], {sandbox: run.sandbox});
  assert.equal(result.code, 2, result.output());
  assert.match(result.stderr, /joey: error: --since/);
});
