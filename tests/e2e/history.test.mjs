// Black-box tests of the local task history: `joey run` records every task into
// $JOEY_HOME/history.db as it runs, `joey history list|show|search|delete` read and
// remove it, `joey run --resume ID` continues a task with its stored messages (under
// another wire protocol than the one that started it), and a kill -9 mid-task leaves
// the database intact. Skipped, saying why, when the binary has no `joey history`
// (or no `--resume`).

import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';

import {
  assertCompleted,
  complete,
  eventsOfType,
  fakeKey,
  joeyMissing,
  kKeyVariable,
  kModel,
  makeSandbox,
  modelRequests,
  parseJsonLines,
  providerArgs,
  runJoey,
  runTask,
  waitFor
} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

// Why the history tests cannot run with this binary, or false.
async function historyMissing() {
  if (joeyMissing) return joeyMissing;
  const root = await mkdtemp(path.join(tmpdir(), 'joey-e2e-probe-'));
  try {
    const sandbox = {home: root, workspace: root};
    const probe = await runJoey(['history', 'list', '--json'], {sandbox});
    if (probe.code !== 0) {
      return `this joey has no working \`joey history\` (exit ${probe.code}: ` +
          `${probe.stderr.trim().split('\n')[0]}); it is wired in apps/joey/main.cpp`;
    }
    return false;
  } finally {
    await rm(root, {recursive: true, force: true});
  }
}

async function resumeMissing() {
  if (joeyMissing) return joeyMissing;
  const help = await runJoey(['run', '--help']);
  return /--resume/.test(help.stdout + help.stderr) ? false :
                                                      '`joey run` has no --resume option yet';
}

const kHistoryMissing = await historyMissing();
const kResumeMissing = kHistoryMissing || await resumeMissing();

async function history(sandbox, ...args) {
  const result = await runJoey(['history', ...args], {sandbox});
  return result;
}

async function historyJson(sandbox, ...args) {
  const result = await history(sandbox, ...args, '--json');
  assert.equal(result.code, 0, result.output());
  return JSON.parse(result.stdout);
}

const taskIdOf = (run) => eventsOfType(run.events, 'task_started')[0]?.task_id;

describe('joey history', {skip: kHistoryMissing}, () => {
  test('a finished task is listed with its title, status, tokens and messages', async (t) => {
    const run = await runTask(t, 'openai', {
      task: 'Rename the pelican variable\nin every file',
      turns: [{...complete('Renamed.'), usage: {input: 120, output: 15}}],
    });
    assertCompleted(run);
    const taskId = taskIdOf(run);
    assert.ok(taskId, 'task_started carries the task id');

    const tasks = await historyJson(run.sandbox, 'list');
    assert.equal(tasks.length, 1, JSON.stringify(tasks));
    const [task] = tasks;
    assert.equal(task.id, taskId);
    assert.equal(task.title, 'Rename the pelican variable');
    assert.equal(task.status, 'completed');
    assert.equal(task.model, kModel);
    assert.equal(task.input_tokens, 120);
    assert.equal(task.output_tokens, 15);
    assert.ok(task.messages >= 2, `messages: ${task.messages}`);

    const shown = await historyJson(run.sandbox, 'show', taskId);
    const stored = JSON.stringify(shown.message_list);
    assert.match(stored, /Rename the pelican variable/);
    assert.match(stored, /attempt_completion/);

    const text = await history(run.sandbox, 'list');
    assert.equal(text.code, 0, text.output());
    assert.ok(text.stdout.includes(taskId), text.stdout);
  });

  test('search finds a task by a word of its conversation, with a snippet', async (t) => {
    const run = await runTask(t, 'anthropic', {
      task: 'Find the flamingo in the config',
      files: {'config.txt': 'bird = flamingo\n'},
      turns: [
        {tool_calls: [{name: 'read_file', arguments: {path: 'config.txt'}}]},
        complete('Found it.'),
      ],
    });
    assertCompleted(run);
    const hits = await historyJson(run.sandbox, 'search', 'flamingo');
    assert.equal(hits.length, 1, JSON.stringify(hits));
    assert.equal(hits[0].id, taskIdOf(run));
    assert.match(hits[0].snippet, /\*\*flamingo\*\*/);
    assert.deepEqual(await historyJson(run.sandbox, 'search', 'NEAR( "unmatched'), []);
  });

  test('delete removes the task; delete --all removes every task', async (t) => {
    const run = await runTask(t, 'openai', {turns: [complete()]});
    assertCompleted(run);
    const taskId = taskIdOf(run);
    const deleted = await history(run.sandbox, 'delete', taskId);
    assert.equal(deleted.code, 0, deleted.output());
    assert.ok(deleted.stdout.includes(taskId), deleted.stdout);
    assert.deepEqual(await historyJson(run.sandbox, 'list'), []);
    const again = await history(run.sandbox, 'show', taskId);
    assert.equal(again.code, 1, again.output());
    assert.match(again.stderr, /joey history list/);
    const all = await history(run.sandbox, 'delete', '--all');
    assert.equal(all.code, 0, all.output());
    assert.match(all.stdout, /Deleted 0 tasks/);
  });

  test('kill -9 mid-task leaves history.db intact with the task so far', async (t) => {
    let killed = false;
    const run = await runTask(t, 'openai', {
      task: 'Read greet.txt slowly',
      files: {'greet.txt': 'hello\n'},
      timeoutMs: 40_000,
      turns: [
        {tool_calls: [{name: 'read_file', arguments: {path: 'greet.txt'}}]},
        {text: 'word '.repeat(100), text_pieces: 100, chunk_delay_ms: 100, ...complete()},
      ],
      onStart: async (child, stdout) => {
        if (await waitFor(() => /"type"\s*:\s*"text"/.test(stdout()), 15_000)) {
          killed = child.kill('SIGKILL');
        }
      },
    });
    assert.ok(killed, `joey was not killed mid-stream\n${run.result.output()}`);
    assert.equal(run.result.signal, 'SIGKILL');
    const taskId = taskIdOf(run);
    const shown = await historyJson(run.sandbox, 'show', taskId);
    assert.equal(shown.status, 'running', 'a killed task never finished');
    const stored = JSON.stringify(shown.message_list);
    assert.match(stored, /Read greet.txt slowly/);
    assert.match(stored, /hello/, 'the tool result was saved before the kill');

    const sqlite = spawnSync(
        'sqlite3', [path.join(run.sandbox.home, 'history.db'), 'PRAGMA integrity_check;'],
        {encoding: 'utf8'});
    if (sqlite.error?.code !== 'ENOENT') {
      assert.equal(sqlite.stdout.trim(), 'ok', sqlite.stderr);
    }
  });
});

describe('joey run --resume', {skip: kResumeMissing}, () => {
  test('continues a task with its earlier messages, under another protocol', async (t) => {
    const sandbox = await makeSandbox();
    const first = await startScriptedProvider({turns: [complete('Noted.')], models: [kModel]});
    const second =
        await startScriptedProvider({turns: [complete('It was pelican.')], models: [kModel]});
    t.after(async () => {
      await first.close();
      await second.close();
      await sandbox.cleanup();
    });
    const base = ['--model', kModel, '--yes', '--output', 'json', '--cwd', sandbox.workspace];
    const started = await runJoey(
        ['run', ...providerArgs('anthropic', first), ...base, 'Remember the word pelican'],
        {sandbox, env: {[kKeyVariable.anthropic]: fakeKey('anthropic')}});
    assert.equal(started.code, 0, started.output());
    const taskId = eventsOfType(parseJsonLines(started.stdout), 'task_started')[0].task_id;

    const resumed = await runJoey(
        [
          'run', ...providerArgs('openai', second), ...base, '--resume', taskId,
          'What was the word?'
        ],
        {sandbox, env: {[kKeyVariable.openai]: fakeKey('openai')}});
    assert.equal(resumed.code, 0, resumed.output());
    const [request] = modelRequests(second);
    const sent = JSON.stringify(request.body.messages);
    assert.match(sent, /Remember the word pelican/, 'the earlier request is sent again');
    assert.match(sent, /Noted\./, 'the earlier completion is sent again');
    assert.match(sent, /What was the word\?/);
    assert.ok(
        sent.indexOf('Remember the word pelican') < sent.indexOf('What was the word?'),
        'earlier messages come first');

    const shown = await historyJson(sandbox, 'show', taskId);
    assert.equal(shown.status, 'completed');
    assert.match(JSON.stringify(shown.message_list), /What was the word\?/);
    assert.equal((await historyJson(sandbox, 'list')).length, 1, 'resuming adds no new task');
  });
});
