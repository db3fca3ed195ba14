// Black-box tests of checkpoints: a task run by the built binary snapshots the
// workspace before each write or command, and `joey checkpoints list|diff|restore`
// reads and undoes them. Skipped with the reason when the binary is missing or does
// not know the `checkpoints` command yet.

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {describe, test} from 'node:test';

import {
  assertCompleted,
  eventsOfType,
  joeyMissing,
  kProtocols,
  makeSandbox,
  runJoey,
  runTask,
} from './helpers.mjs';

async function checkpointsMissing() {
  if (joeyMissing) return joeyMissing;
  const sandbox = await makeSandbox();
  try {
    const probe = await runJoey(['checkpoints', 'list', 'probe', '--cwd', sandbox.workspace], {sandbox});
    if (probe.code === 2 && probe.stderr.includes('checkpoints')) {
      return `this joey binary has no \`checkpoints\` command (stderr: ${
          probe.stderr.trim().slice(0, 200)})`;
    }
    return false;
  } finally {
    await sandbox.cleanup();
  }
}

const skip = await checkpointsMissing();

describe('joey checkpoints', {skip}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: restore 1 undoes a task's edit and removes the file it created`, async (t) => {
      const run = await runTask(t, protocol, {
        files: {'greet.txt': 'hello\n'},
        turns: [
          {tool_calls: [{name: 'write_to_file', arguments: {path: 'greet.txt', content: 'bonjour\n'}}]},
          {tool_calls: [{name: 'write_to_file', arguments: {path: 'new.txt', content: 'new\n'}}]},
          {tool_calls: [{name: 'attempt_completion', arguments: {result: 'greeting updated'}}]},
        ],
      });
      assertCompleted(run);
      assert.equal(await readFile(run.file('greet.txt'), 'utf8'), 'bonjour\n');
      const taskId = eventsOfType(run.events, 'task_started')[0]?.task_id;
      assert.ok(taskId, run.result.output());
      const checkpoints = (args) =>
          runJoey(['checkpoints', ...args, '--cwd', run.sandbox.workspace], {sandbox: run.sandbox});

      const listed = await checkpoints(['list', taskId, '--json']);
      assert.equal(listed.code, 0, listed.output());
      const list = JSON.parse(listed.stdout);
      assert.ok(list.length >= 2, `a checkpoint before each write: ${listed.stdout}`);
      assert.deepEqual(list.map((entry) => entry.n), list.map((_, index) => index + 1));

      const diff = await checkpoints(['diff', taskId, '1']);
      assert.equal(diff.code, 0, diff.output());
      assert.match(diff.stdout, /^-hello$/m);
      assert.match(diff.stdout, /^\+bonjour$/m);

      const restored = await checkpoints(['restore', taskId, '1']);
      assert.equal(restored.code, 0, restored.output());
      assert.equal(await readFile(run.file('greet.txt'), 'utf8'), 'hello\n');
      assert.equal(existsSync(run.file('new.txt')), false);
    });
  }

  test('an unknown task or checkpoint is a clear error', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const unknown =
        await runJoey(['checkpoints', 'restore', 'no-such-task', '1', '--cwd', sandbox.workspace],
                      {sandbox});
    assert.equal(unknown.code, 1, unknown.output());
    assert.match(unknown.stderr, /joey: error: task no-such-task has no checkpoints/);
  });
});
