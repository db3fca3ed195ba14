// Crash safety of the local history: `joey run` is killed with SIGKILL while it waits
// for a model answer the scripted provider holds back, after a few turns of tool
// calls. Everything that completed before the kill must be in history.db and readable
// by `joey history list|show|search`, the database must pass SQLite's integrity check
// (when a sqlite3 CLI is installed), and `joey run --resume` must continue the task
// with those messages. Only the answer in flight may be lost.

import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {complete, eventsOfType, fakeKey, joeyMissing, kKeyVariable, kModel, kProtocols, makeSandbox, modelRequests, parseJsonLines, providerArgs, runJoey, waitFor,} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const call = (name, args) => ({tool_calls: [{name, arguments: args}]});

// Text of a stored message (joey's history format, see src/client/message_codec.h).
const storedText = (message) => JSON.stringify(message);

async function historyJson(sandbox, ...args) {
  const result = await runJoey(['history', ...args, '--json'], {sandbox});
  assert.equal(result.code, 0, result.output());
  return JSON.parse(result.stdout);
}

describe('kill -9 mid-task', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    test(
        `${protocol}: history.db keeps every completed message and the task resumes`, async (t) => {
          // A word that appears only in a file the model reads: it reaches the history
          // only through a tool result saved before the kill.
          const word = `axolotl${randomBytes(4).toString('hex')}`;
          const sandbox = await makeSandbox();
          await writeFile(path.join(sandbox.workspace, 'notes.txt'), `the animal is ${word}\n`);
          let release;
          const held = new Promise((resolve) => (release = resolve));
          const provider = await startScriptedProvider({
            models: [kModel],
            turns: [
              call('read_file', {path: 'notes.txt'}),
              call('write_to_file', {path: 'summary.md', content: '# Summary\n'}),
              call('execute_command', {command: 'echo step-three-done'}),
              // The fourth answer is held back until the test ends: joey is killed
              // while it waits for it.
              async () => {
                await held;
                return {status: 500, message: 'released after the kill'};
              },
            ],
          });
          const resumeProvider =
              await startScriptedProvider({models: [kModel], turns: [complete('Resumed fine.')]});
          t.after(async () => {
            release();
            await provider.close();
            await resumeProvider.close();
            await sandbox.cleanup();
          });
          const env = {[kKeyVariable[protocol]]: fakeKey(protocol)};
          const common =
              ['--model', kModel, '--yes', '--output', 'json', '--cwd', sandbox.workspace];

          let killed = false;
          const run = await runJoey(
              ['run', ...providerArgs(protocol, provider), ...common, 'Summarise notes.txt'], {
                sandbox,
                env,
                onStart: async (child) => {
                  if (await waitFor(() => modelRequests(provider).length >= 4, 20_000)) {
                    killed = child.kill('SIGKILL');
                  }
                },
              });
          assert.ok(killed, `joey never sent the fourth request\n${run.output()}`);
          assert.equal(run.signal, 'SIGKILL', run.output());
          assert.equal(modelRequests(provider).length, 4, run.output());
          const taskId = eventsOfType(parseJsonLines(run.stdout), 'task_started')[0]?.task_id;
          assert.ok(taskId, run.output());

          // list: the one task, still marked running (it never finished).
          const tasks = await historyJson(sandbox, 'list');
          assert.equal(tasks.length, 1, JSON.stringify(tasks));
          assert.equal(tasks[0].id, taskId);
          assert.equal(tasks[0].status, 'running');
          assert.equal(tasks[0].messages, 7, JSON.stringify(tasks[0]));

          // show: the task and the three completed rounds of tool calls and results.
          const shown = await historyJson(sandbox, 'show', taskId);
          const messages = shown.message_list;
          assert.deepEqual(
              messages.map((message) => message.role),
              ['user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user'],
              JSON.stringify(messages));
          assert.match(storedText(messages[0]), /Summarise notes\.txt/);
          assert.deepEqual(
              [1, 3, 5].map((index) => messages[index].tool_calls.map((c) => c.name)),
              [['read_file'], ['write_to_file'], ['execute_command']]);
          for (const index of [2, 4, 6]) {
            const [result] = messages[index].tool_results;
            assert.equal(result.tool_call_id, messages[index - 1].tool_calls[0].id);
            assert.equal(result.is_error, false, JSON.stringify(result));
          }
          assert.ok(storedText(messages[2]).includes(word), 'the read result was saved');
          assert.match(storedText(messages[6]), /step-three-done/);
          const text = await runJoey(['history', 'show', taskId], {sandbox});
          assert.equal(text.code, 0, text.output());
          assert.ok(text.stdout.includes(word), text.stdout);

          // search: the word from an earlier message finds the task.
          const hits = await historyJson(sandbox, 'search', word);
          assert.deepEqual(hits.map((hit) => hit.id), [taskId], JSON.stringify(hits));

          const sqlite = spawnSync(
              'sqlite3', [path.join(sandbox.home, 'history.db'), 'PRAGMA integrity_check;'],
              {encoding: 'utf8'});
          if (sqlite.error?.code !== 'ENOENT') {
            assert.equal(sqlite.stdout.trim(), 'ok', sqlite.stderr);
          } else {
            t.diagnostic('no sqlite3 CLI: integrity_check skipped');
          }

          // resume: the earlier messages go out again, before the new request.
          const resumed = await runJoey(
              [
                'run', ...providerArgs(protocol, resumeProvider), ...common, '--resume', taskId,
                'Carry on'
              ],
              {sandbox, env});
          assert.equal(resumed.code, 0, resumed.output());
          const [request] = modelRequests(resumeProvider);
          const sent = JSON.stringify(request.body.messages);
          for (const expected of ['Summarise notes.txt', word, 'step-three-done', 'Carry on']) {
            assert.ok(sent.includes(expected), `the resumed request lacks ${expected}: ${sent}`);
          }
          assert.ok(sent.indexOf(word) < sent.indexOf('Carry on'), 'earlier messages come first');
          const after = await historyJson(sandbox, 'show', taskId);
          assert.equal(after.status, 'completed');
          assert.ok(after.message_list.length > messages.length);
          assert.equal((await historyJson(sandbox, 'list')).length, 1, 'no new task was made');
        });
  }
});
