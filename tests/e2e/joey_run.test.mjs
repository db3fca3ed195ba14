// Black-box tests of `joey run`: the built binary against the scripted provider,
// under both wire protocols. Each test gets a fresh JOEY_HOME, HOME and workspace
// and a fake random key, and checks that the key went only into the provider's own
// auth header. JOEY_BIN names the binary (default build/release/bin/joey).

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {
  assertCompleted,
  assertFailed,
  complete,
  errorText,
  kModel,
  runTask,
  eventsOfType,
  fakeKey,
  joeyMissing,
  kEventTypes,
  keyLeaks,
  kKeyVariable,
  kProtocols,
  lastUserText,
  makeSandbox,
  modelRequests,
  parseJsonLines,
  providerArgs,
  runJoey,
  toolNamesIn,
  toolResultsIn,
  waitFor
} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kRooTools = [
  'read_file',
  'write_to_file',
  'apply_diff',
  'insert_content',
  'search_files',
  'list_files',
  'execute_command',
  'ask_followup_question',
  'attempt_completion',
  'update_todo_list',
];

const parsedArguments = (value) => (typeof value === 'string' ? JSON.parse(value) : value);

describe('joey run', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    describe(protocol, () => {
      test(
          'reads, edits, runs a command and completes, feeding each result back to the model',
          async (t) => {
            const diff = '<<<<<<< SEARCH\n:start_line:1\n-------\nhello world\n' +
                '=======\nhello joey\n>>>>>>> REPLACE';
            const cacheWrite = protocol === 'anthropic' ? 80 : 0;
            const turns = [
              {
                text: 'Let me read the file.',
                tool_calls: [{name: 'read_file', arguments: {path: 'greet.txt'}}],
                usage: {input: 100, output: 10, cache_write: cacheWrite}
              },
              {
                tool_calls: [{name: 'apply_diff', arguments: {path: 'greet.txt', diff}}],
                usage: {input: 50, output: 20, cache_read: 100}
              },
              {
                tool_calls: [{name: 'execute_command', arguments: {command: 'cat greet.txt'}}],
                usage: {input: 30, output: 5, cache_read: 200}
              },
              {
                tool_calls: [{
                  name: 'attempt_completion',
                  arguments: {result: 'The greeting now says hello joey.'}
                }],
                usage: {input: 20, output: 7, cache_read: 300}
              },
            ];
            const run = await runTask(
                t, protocol, {turns, files: {'greet.txt': 'hello world\nsecond line\n'}});
            const {events, requests} = run;
            assertCompleted(run);

            for (const event of events)
              assert.ok(kEventTypes.has(event.type), `undocumented event type ${event.type}`);
            const started = events[0];
            assert.equal(started.type, 'task_started');
            assert.equal(typeof started.task_id, 'string');
            assert.ok(started.task_id.length > 0);
            assert.equal(started.model, kModel);
            assert.equal(typeof started.mode, 'string');
            assert.match(events.at(-1).result, /hello joey/);
            assert.match(
                eventsOfType(events, 'text').map((event) => event.text).join(''),
                /Let me read the file\./);

            assert.equal(
                await readFile(run.file('greet.txt'), 'utf8'), 'hello joey\nsecond line\n');

            const sentCalls = requests.flatMap((request) => request.tool_calls)
                                  .filter((call) => call.name !== 'attempt_completion');
            const calls = eventsOfType(events, 'tool_call')
                              .filter((event) => event.name !== 'attempt_completion');
            assert.deepEqual(
                calls.map((event) => event.name), ['read_file', 'apply_diff', 'execute_command']);
            assert.deepEqual(calls.map((event) => event.id), sentCalls.map((call) => call.id));
            assert.deepEqual(parsedArguments(calls[0].arguments), {path: 'greet.txt'});
            const results = eventsOfType(events, 'tool_result')
                                .filter((event) => event.name !== 'attempt_completion');
            assert.deepEqual(
                results.map((event) => [event.id, event.name, event.ok]),
                sentCalls.map((call) => [call.id, call.name, true]));
            for (const result of results) assert.equal(typeof result.summary, 'string');

            assert.equal(requests.length, 4);
            for (const request of requests) assert.equal(request.body.model, kModel);
            assert.match(
                JSON.stringify(requests[0].body.messages), /Update the greeting in greet\.txt/);
            const offered = toolNamesIn(protocol, requests[0]);
            for (const name of kRooTools)
              assert.ok(
                  offered.includes(name), `tool ${name} is not offered (offered: ${offered})`);

            const readResult = toolResultsIn(protocol, requests[1]).at(-1);
            assert.equal(readResult.id, sentCalls[0].id);
            assert.match(readResult.content, /hello world/);
            assert.notEqual(readResult.is_error, true);
            const diffResult = toolResultsIn(protocol, requests[2]).at(-1);
            assert.equal(diffResult.id, sentCalls[1].id);
            assert.notEqual(diffResult.is_error, true);
            const commandResult = toolResultsIn(protocol, requests[3]).at(-1);
            assert.equal(commandResult.id, sentCalls[2].id);
            assert.match(commandResult.content, /hello joey/);

            const usage = eventsOfType(events, 'usage').at(-1);
            assert.ok(usage, 'expected a usage event');
            assert.deepEqual(
                [
                  usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                  usage.cache_write_tokens
                ],
                [200, 42, 600, cacheWrite],
            );
            assert.ok(
                usage.cost_usd === null || typeof usage.cost_usd === 'number',
                `cost_usd is ${usage.cost_usd}`);
          });

      test('tool-call arguments split into many pieces are reassembled exactly', async (t) => {
        const content = 'line "one"\n\ttabbed \\ backslash\nünïcödé ✓ 🎉\n{"json": [1, 2]}\n';
        const turns = [
          {
            tool_calls: [{name: 'write_to_file', arguments: {path: 'notes/out.txt', content}}],
            split: 40
          },
          complete()
        ];
        const run = await runTask(t, protocol, {turns, task: 'Write the notes file'});
        assertCompleted(run);
        assert.equal(await readFile(run.file('notes/out.txt'), 'utf8'), content);
        assert.equal(eventsOfType(run.events, 'tool_result')[0]?.ok, true, run.result.output());
      });

      test('a 429 is retried and the task completes', async (t) => {
        const turns =
            [{status: 429, headers: {'retry-after': '0'}}, complete('after the rate limit')];
        const run = await runTask(t, protocol, {turns});
        assertCompleted(run);
        assert.equal(run.requests.length, 2);
        assert.deepEqual(run.requests[1].body.messages, run.requests[0].body.messages);
        assert.match(run.events.at(-1).result, /after the rate limit/);
      });

      test('two 500s are retried and the task completes', async (t) => {
        const turns = [{status: 500}, {status: 500}, complete()];
        const run = await runTask(t, protocol, {turns});
        assertCompleted(run);
        assert.equal(run.requests.length, 3);
      });

      test('a persistent 500 fails the task after bounded retries', async (t) => {
        const turns = Array.from({length: 20}, () => ({status: 500}));
        const run = await runTask(t, protocol, {turns});
        assertFailed(run);
        assert.ok(run.requests.length >= 2, 'expected at least one retry');
        assert.ok(run.requests.length < 20, 'retries must be bounded');
        assert.match(errorText(run), /500|server/i);
      });

      test('a stream cut mid-event is retried and the task completes', async (t) => {
        const turns = [
          {
            text: 'Writing the file in a moment, this answer is cut',
            tool_calls: [{name: 'write_to_file', arguments: {path: 'cut.txt', content: 'cut'}}],
            cut: 3
          },
          {tool_calls: [{name: 'write_to_file', arguments: {path: 'whole.txt', content: 'whole'}}]},
          complete(),
        ];
        const run = await runTask(t, protocol, {turns});
        assertCompleted(run);
        assert.equal(run.requests.length, 3);
        assert.deepEqual(
            run.requests[1].body.messages, run.requests[0].body.messages,
            'the retry must resend the same conversation');
        assert.equal(
            existsSync(run.file('cut.txt')), false, 'nothing of the cut answer may be executed');
        assert.equal(await readFile(run.file('whole.txt'), 'utf8'), 'whole');
      });

      test('invalid JSON in tool arguments goes back to the model as a tool error', async (t) => {
        const turns = [
          {
            tool_calls: [{name: 'write_to_file', arguments: {path: 'bad.txt', content: 'x'}}],
            invalid_json_arguments: true,
            split: 5
          },
          complete('recovered')
        ];
        const run = await runTask(t, protocol, {turns});
        assertCompleted(run);
        assert.equal(existsSync(run.file('bad.txt')), false);
        assert.equal(run.requests.length, 2);
        const result = toolResultsIn(protocol, run.requests[1]).at(-1);
        assert.ok(result, 'the second request must carry a tool result');
        assert.equal(result.id, run.requests[0].tool_calls[0].id);
        assert.match(result.content, /json/i);
        if (protocol === 'anthropic') assert.equal(result.is_error, true);
        assert.equal(eventsOfType(run.events, 'tool_result')[0]?.ok, false, run.result.output());
      });

      test('a 401 fails at once and names the key variable', async (t) => {
        const run = await runTask(t, protocol, {turns: [{status: 401}, complete()]});
        assertFailed(run);
        assert.equal(run.requests.length, 1, 'a rejected key must not be retried');
        assert.match(errorText(run), /reject|invalid|unauthori[sz]ed/i);
        assert.match(errorText(run), new RegExp(kKeyVariable[protocol]));
      });

      test('a 404 for the model names the model and how to list models', async (t) => {
        const run = await runTask(
            t, protocol, {turns: [{status: 404}, complete()], model: 'no-such-model-7'});
        assertFailed(run);
        assert.equal(run.requests.length, 1);
        assert.match(errorText(run), /no-such-model-7/);
        assert.match(errorText(run), /joey models/);
      });

      test('a context length error fails with a message about the context window', async (t) => {
        const run = await runTask(t, protocol, {turns: [{error: 'context_length'}, complete()]});
        assertFailed(run);
        assert.equal(run.requests.length, 1);
        assert.match(errorText(run), /context/i);
      });

      test('a turn without a tool call gets one reminder, then the task goes on', async (t) => {
        const turns = [{text: 'I think the greeting is fine.'}, complete('checked')];
        const run = await runTask(t, protocol, {turns});
        assertCompleted(run);
        assert.equal(run.requests.length, 2);
        const reminder = lastUserText(run.requests[1]);
        assert.ok(reminder, 'the second request must end with a user message');
        assert.match(reminder, /tool/i);
        assert.doesNotMatch(reminder, /Update the greeting/);
      });

      test('a second turn without a tool call fails the task', async (t) => {
        const turns = [{text: 'No tools for me.'}, {text: 'Still no tools.'}, complete()];
        const run = await runTask(t, protocol, {turns});
        assertFailed(run);
        assert.equal(run.requests.length, 2);
      });

      test('without --yes a write stops for approval with exit 3 and writes nothing', async (t) => {
        const turns = [
          {tool_calls: [{name: 'write_to_file', arguments: {path: 'new.txt', content: 'hi'}}]},
          complete()
        ];
        const run = await runTask(t, protocol, {turns, yes: false});
        assert.equal(run.result.code, 3, run.result.output());
        const approval = eventsOfType(run.events, 'approval_required')[0];
        assert.ok(approval, `expected approval_required\n${run.result.output()}`);
        assert.equal(approval.tool, 'write_to_file');
        assert.match(approval.kind, /write/i);
        assert.match(approval.description, /new\.txt/);
        assert.equal(existsSync(run.file('new.txt')), false);
        assert.equal(eventsOfType(run.events, 'completion').length, 0);
        assert.equal(run.requests.length, 1);
      });

      test('a path escaping the workspace is refused even under --yes', async (t) => {
        const turns = [
          {
            tool_calls:
                [{name: 'write_to_file', arguments: {path: '../outside.txt', content: 'escaped'}}]
          },
          complete()
        ];
        const run = await runTask(t, protocol, {turns});
        assert.equal(existsSync(path.join(run.sandbox.root, 'outside.txt')), false);
        const result = eventsOfType(run.events, 'tool_result')[0];
        assert.ok(result, run.result.output());
        assert.equal(result.ok, false);
        assertCompleted(run);
        const sent = toolResultsIn(protocol, run.requests[1]).at(-1);
        assert.match(sent.content, /outside|workspace|denied|refus/i);
      });

      test('--max-requests 1 stops a two-request task and names the limit', async (t) => {
        const turns =
            [{tool_calls: [{name: 'read_file', arguments: {path: 'greet.txt'}}]}, complete()];
        const run = await runTask(
            t, protocol, {turns, files: {'greet.txt': 'hi\n'}, extraArgs: ['--max-requests', '1']});
        assertFailed(run);
        assert.equal(run.requests.length, 1);
        assert.match(errorText(run), /max-requests|request limit|limit/i);
      });

      test(
          '--output text prints the text, a line per tool call and a tokens and cost line',
          async (t) => {
            const turns = [
              {
                text: 'Reading the file now.',
                tool_calls: [{name: 'read_file', arguments: {path: 'greet.txt'}}],
                usage: {input: 11, output: 3}
              },
              complete('All good.'),
            ];
            const run =
                await runTask(t, protocol, {turns, files: {'greet.txt': 'hi\n'}, output: 'text'});
            assert.equal(run.result.code, 0, run.result.output());
            const stdout = run.result.stdout;
            assert.match(stdout, /Reading the file now\./);
            const lines = stdout.split('\n').filter((line) => line.trim() !== '');
            assert.ok(
                lines.some((line) => /read_file/.test(line) && /greet\.txt/.test(line)), stdout);
            assert.ok(
                !lines.some((line) => /^\s*\{"type"/.test(line)),
                'text mode must not print JSON events');
            const last = lines.at(-1);
            assert.match(last, /token/i);
            assert.match(last, /cost|\$/i);
          });

      test('SIGINT during a slow stream exits 130 promptly and changes no file', async (t) => {
        const turns = [
          {
            text: 'word '.repeat(200),
            text_pieces: 200,
            chunk_delay_ms: 100,
            tool_calls:
                [{name: 'write_to_file', arguments: {path: 'greet.txt', content: 'interrupted'}}],
          },
          complete(),
        ];
        let interruptedInTime = true;
        const run = await runTask(t, protocol, {
          turns,
          files: {'greet.txt': 'original\n'},
          timeoutMs: 40_000,
          onStart: async (child, stdout) => {
            const streaming = await waitFor(() => /"type"\s*:\s*"text"/.test(stdout()), 15_000);
            if (!streaming) return;
            child.kill('SIGINT');
            setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) {
                interruptedInTime = false;
                child.kill('SIGKILL');
              }
            }, 5_000).unref();
          },
        });
        assert.ok(
            interruptedInTime, `joey did not exit within 5 s of SIGINT\n${run.result.output()}`);
        assert.equal(run.result.code, 130, run.result.output());
        assert.equal(await readFile(run.file('greet.txt'), 'utf8'), 'original\n');
        assert.equal(run.requests.length, 1);
      });
    });
  }

  describe('keys', () => {
    test('openai-compatible never sends OPENAI_API_KEY to its host', async (t) => {
      const openaiKey = fakeKey('openai');
      const run =
          await runTask(t, 'openai', {turns: [complete()], env: {OPENAI_API_KEY: openaiKey}});
      assertCompleted(run);
      const everything =
          JSON.stringify(run.provider.requests) + run.result.stdout + run.result.stderr;
      assert.equal(
          everything.includes(openaiKey), false,
          'the OpenAI key reached the compatible host or the output');
    });

    test(
        '--provider openai sends OPENAI_API_KEY as a bearer token to the chosen base URL',
        async (t) => {
          const run = await runTask(t, 'openai', {
            turns: [complete('via openai')],
            keyVariable: 'OPENAI_API_KEY',
            providerFlags:
                (provider) => ['--provider', 'openai', '--base-url', `${provider.url}/v1`],
          });
          assertCompleted(run);
          assert.equal(run.requests.length, 1);
          assert.equal(run.requests[0].path, '/v1/chat/completions');
        });
  });

  describe('usage errors', () => {
    async function runBare(t, args, env = {}) {
      const sandbox = await makeSandbox();
      t.after(() => sandbox.cleanup());
      const result = await runJoey(args, {sandbox, env, timeoutMs: 15_000});
      assert.equal(result.timedOut, false, result.output());
      return result;
    }

    test('an unknown provider is bad usage (exit 2) and is named', async (t) => {
      const result =
          await runBare(t, ['run', '--provider', 'nosuchprovider', '--model', 'm', 'do it']);
      assert.equal(result.code, 2, result.output());
      assert.match(result.stderr, /provider/i);
      assert.match(result.stderr, /nosuchprovider/);
    });

    test('openai-compatible without --base-url is bad usage (exit 2)', async (t) => {
      const result = await runBare(
          t,
          ['run', '--provider', 'openai-compatible', '--model', 'm', '--output', 'json', 'do it'],
          {OPENAI_API_KEY: fakeKey('openai')});
      assert.equal(result.code, 2, result.output());
      assert.match(result.stderr, /base-url/i);
    });

    test('joey run without a task is bad usage (exit 2)', async (t) => {
      const result = await runBare(
          t,
          [
            'run', '--provider', 'openai-compatible', '--base-url', 'http://127.0.0.1:9/v1',
            '--model', 'm', '--yes'
          ],
          {OPENAI_API_KEY: fakeKey('openai')});
      assert.equal(result.code, 2, result.output());
      assert.match(result.stderr, /task/i);
    });

    test('joey --version prints a version', async (t) => {
      const result = await runBare(t, ['--version']);
      assert.equal(result.code, 0, result.output());
      assert.match(result.stdout, /\d+\.\d+\.\d+/);
    });
  });
});
