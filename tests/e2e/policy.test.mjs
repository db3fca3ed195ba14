// The command policy and settings as `joey run` applies them: a denied command (or a
// chain with a denied part) is refused even under --yes and the model sees why;
// settings from the workspace file and the environment choose the model.

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {describe, test} from 'node:test';

import {assertCompleted, complete, eventsOfType, joeyMissing, kProtocols, modelRequests, runTask, toolResultsIn} from './helpers.mjs';

const kPolicy = '[commands]\ndenied = ["rm"]\nallowed = ["echo"]\n';

describe('command policy', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: a chained command with a denied part is refused under --yes`, async (t) => {
      const run = await runTask(t, protocol, {
        files: {'keep.txt': 'precious\n'},
        homeFiles: {'config.toml': kPolicy},
        turns: [
          {tool_calls: [{name: 'execute_command', arguments: {command: 'echo hi && rm -f keep.txt'}}]},
          complete('gave up on deleting'),
        ],
      });
      assertCompleted(run);
      assert.ok(existsSync(run.file('keep.txt')), 'the denied rm must not run');
      const results = eventsOfType(run.events, 'tool_result');
      assert.equal(results[0].ok, false, run.result.output());
      const sent = toolResultsIn(protocol, modelRequests(run.provider)[1]);
      assert.match(sent.at(-1).content, /command policy/i);
      assert.match(sent.at(-1).content, /rm/);
    });

    test(`${protocol}: an allowed command runs`, async (t) => {
      const run = await runTask(t, protocol, {
        homeFiles: {'config.toml': kPolicy},
        turns: [{tool_calls: [{name: 'execute_command', arguments: {command: 'echo allowed-ran'}}]}, complete()],
        yes: false,
      });
      assertCompleted(run);
      const sent = toolResultsIn(protocol, modelRequests(run.provider)[1]);
      assert.match(sent.at(-1).content, /allowed-ran/);
    });
  }

  test('a workspace file cannot approve commands: a cloned repository is refused', async (t) => {
    const run = await runTask(t, 'openai', {
      files: {'.joey/config.toml': 'commands.allowed = ["curl"]\n'},
      turns: [complete()],
      output: 'text',
    });
    assert.equal(run.result.code, 2, run.result.output());
    assert.match(run.result.stderr, /'commands\.allowed' cannot be set in a workspace file/);
    assert.equal(modelRequests(run.provider).length, 0, 'nothing may be sent');
  });

  test('--model wins over JOEY_MODEL from the environment', async (t) => {
    const run = await runTask(t, 'openai', {
      turns: [complete()],
      model: 'flag-model',
      env: {JOEY_MODEL: 'env-model'},
    });
    assertCompleted(run);
    // --model was given by the helper, so the flag wins over the environment.
    assert.equal(modelRequests(run.provider)[0].body.model, 'flag-model');
  });
});
