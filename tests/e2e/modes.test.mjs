// Black-box tests of modes as `joey run` applies them, read from what the scripted
// provider recorded: the exact tools each built-in mode offers the model (under both
// wire protocols), custom modes from .roomodes (YAML and JSON) and .joey/modes.yaml
// with their precedence, architect refused an edit outside its \.md$ rule, a tool
// outside the mode's groups refused when called anyway, and switch_mode needing
// approval unless --yes or auto_approve.mode_switch allows it.
//
// The expected tool sets follow src/agent/modes.cpp (each built-in mode's groups),
// src/agent/workspace_tools.cpp (the group of each workspace tool) and
// src/agent/control_tools.cpp (switch_mode and the other control tools in every mode,
// new_task only with the modes group).

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {assertCompleted, complete, eventsOfType, fakeKey, joeyMissing, kKeyVariable, kModel, kProtocols, makeSandbox, modelRequests, parseJsonLines, providerArgs, runJoey, runTask, toolNamesIn, toolResultsIn,} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kRead = ['read_file', 'search_files', 'list_files'];
const kEdit = ['write_to_file', 'apply_diff', 'insert_content'];
const kCommand = ['execute_command'];
const kModes = ['new_task'];
const kAlways = ['attempt_completion', 'ask_followup_question', 'update_todo_list', 'switch_mode'];

const toolSet = (...groups) => [...kAlways, ...groups.flat()].sort();

// Built-in mode slug -> [display name, the exact tools it offers].
const kBuiltInModes = {
  code: ['Code', toolSet(kRead, kEdit, kCommand)],
  architect: ['Architect', toolSet(kRead, kEdit)],
  ask: ['Ask', toolSet(kRead)],
  debug: ['Debug', toolSet(kRead, kEdit, kCommand)],
  orchestrator: ['Orchestrator', toolSet(kModes)],
};

const call = (name, args) => ({tool_calls: [{name, arguments: args}]});

// The sorted tool names of a request, checking that none is offered twice.
function offeredTools(protocol, request) {
  const names = toolNamesIn(protocol, request);
  assert.equal(new Set(names).size, names.length, `a tool is offered twice: ${names}`);
  return [...names].sort();
}

// The system prompt a request carries, as text.
function systemPromptOf(protocol, request) {
  if (protocol === 'anthropic') {
    const system = request.body.system;
    if (typeof system === 'string') return system;
    return (system ?? []).map((block) => block.text ?? '').join('\n');
  }
  const first = request.body.messages?.[0];
  return first?.role === 'system' ? String(first.content) : '';
}

// Runs `joey run` in a fresh sandbox whose JOEY_HOME and workspace are filled with
// `homeFiles` and `files` first (runTask cannot put files in JOEY_HOME).
async function runWithHome(
    t, protocol, {turns, files = {}, homeFiles = {}, args = [], yes = true}) {
  const sandbox = await makeSandbox();
  const provider = await startScriptedProvider({turns, models: [kModel]});
  t.after(async () => {
    await provider.close();
    await sandbox.cleanup();
  });
  const place = async (root, entries) => {
    for (const [name, content] of Object.entries(entries)) {
      await mkdir(path.dirname(path.join(root, name)), {recursive: true});
      await writeFile(path.join(root, name), content);
    }
  };
  await place(sandbox.workspace, files);
  await place(sandbox.home, homeFiles);
  const result = await runJoey(
      [
        'run', ...providerArgs(protocol, provider), '--model', kModel, ...(yes ? ['--yes'] : []),
        '--output', 'json', '--cwd', sandbox.workspace, ...args, 'Look around'
      ],
      {sandbox, env: {[kKeyVariable[protocol]]: fakeKey(protocol)}});
  assert.equal(result.timedOut, false, result.output());
  return {result, events: parseJsonLines(result.stdout), requests: modelRequests(provider)};
}

describe('modes', {skip: joeyMissing}, () => {
  describe('the tools each built-in mode offers', () => {
    for (const protocol of kProtocols) {
      for (const [slug, [name, expected]] of Object.entries(kBuiltInModes)) {
        test(`${protocol}: --mode ${slug} offers exactly its groups' tools`, async (t) => {
          const run = await runTask(t, protocol, {
            turns: [complete()],
            extraArgs: ['--mode', slug],
          });
          assertCompleted(run);
          assert.equal(
              eventsOfType(run.events, 'task_started')[0]?.mode, slug, run.result.output());
          const [request] = run.requests;
          assert.deepEqual(offeredTools(protocol, request), expected);
          assert.ok(
              systemPromptOf(protocol, request).includes(`# Mode: ${name} (${slug})`),
              'the system prompt names the mode');
        });
      }
    }

    test('without --mode the mode setting chooses, and --mode wins over it', async (t) => {
      const files = {'.joey/config.toml': 'mode = "architect"\n'};
      const bySetting = await runTask(t, 'openai', {files, turns: [complete()]});
      assertCompleted(bySetting);
      assert.deepEqual(offeredTools('openai', bySetting.requests[0]), kBuiltInModes.architect[1]);
      const byFlag =
          await runTask(t, 'openai', {files, turns: [complete()], extraArgs: ['--mode', 'ask']});
      assertCompleted(byFlag);
      assert.deepEqual(offeredTools('openai', byFlag.requests[0]), kBuiltInModes.ask[1]);
    });

    test('an unknown --mode is a usage error naming the available modes', async (t) => {
      const run = await runTask(t, 'openai', {turns: [complete()], extraArgs: ['--mode', 'nope']});
      assert.equal(run.result.code, 2, run.result.output());
      assert.match(run.result.stderr, /unknown mode 'nope'/);
      assert.match(run.result.stderr, /code, architect, ask, debug, orchestrator/);
      assert.equal(run.requests.length, 0, 'nothing is sent for a bad mode');
    });
  });

  describe('custom modes', () => {
    const roomodesYaml = [
      'customModes:',
      '  - slug: docs-writer',
      '    name: Docs Writer',
      '    roleDefinition: You are ROLE-CANARY-7, a technical writer.',
      '    whenToUse: Writing documentation.',
      '    customInstructions: Keep it short.',
      '    groups:',
      '      - read',
      '      - - edit',
      '        - fileRegex: \\.(md|txt)$',
      '          description: Docs and notes only',
      '      - browser',
      '',
    ].join('\n');
    const roomodesJson = JSON.stringify(
        {
          customModes: [{
            slug: 'docs-writer',
            name: 'Docs Writer',
            roleDefinition: 'You are ROLE-CANARY-7, a technical writer.',
            groups:
                ['read', ['edit', {fileRegex: '\\.(md|txt)$', description: 'Docs and notes only'}]],
            source: 'project',
          }],
        },
        null, 2);

    for (const [format, text] of [['YAML', roomodesYaml], ['JSON', roomodesJson]]) {
      for (const protocol of kProtocols) {
        test(
            `${protocol}: a .roomodes mode (${format}) is offered its groups' tools and keeps ` +
                'its fileRegex',
            async (t) => {
              const run = await runTask(t, protocol, {
                files: {'.roomodes': text},
                extraArgs: ['--mode', 'docs-writer'],
                turns: [
                  call('write_to_file', {path: 'notes.txt', content: 'allowed\n'}),
                  call('write_to_file', {path: 'tool.py', content: 'print(1)\n'}),
                  complete(),
                ],
              });
              assertCompleted(run);
              assert.deepEqual(offeredTools(protocol, run.requests[0]), toolSet(kRead, kEdit));
              const system = systemPromptOf(protocol, run.requests[0]);
              assert.ok(system.includes('ROLE-CANARY-7'), 'the role definition is in the prompt');
              assert.ok(system.includes('# Mode: Docs Writer (docs-writer)'));
              assert.equal(await readFile(run.file('notes.txt'), 'utf8'), 'allowed\n');
              assert.equal(existsSync(run.file('tool.py')), false);
              const refused = toolResultsIn(protocol, run.requests[2]).at(-1);
              assert.match(refused.content, /mode 'docs-writer' may only edit files matching/);
              assert.match(refused.content, /Docs and notes only/);
            });
      }
    }

    test('.joey/modes.yaml overrides a built-in slug and wins over .roomodes', async (t) => {
      const mode = (role, groups) => ['customModes:',
                                      '  - slug: ask',
                                      '    name: Ask Plus',
                                      `    roleDefinition: ${role}`,
                                      `    groups: [${groups}]`,
                                      '',
      ].join('\n');
      const run = await runTask(t, 'openai', {
        files: {
          '.roomodes': mode('You are ROOMODES-LOSES.', 'read, edit'),
          '.joey/modes.yaml': mode('You are JOEY-MODES-WINS.', 'read, command'),
        },
        extraArgs: ['--mode', 'ask'],
        turns: [call('execute_command', {command: 'echo override-ran'}), complete()],
      });
      assertCompleted(run);
      assert.deepEqual(offeredTools('openai', run.requests[0]), toolSet(kRead, kCommand));
      const system = systemPromptOf('openai', run.requests[0]);
      assert.ok(system.includes('JOEY-MODES-WINS'), system.slice(0, 400));
      assert.ok(!system.includes('ROOMODES-LOSES'), 'the .roomodes definition is replaced');
      assert.ok(
          !system.includes('knowledgeable technical assistant'),
          'the built-in ask role is replaced');
      assert.ok(system.includes('# Mode: Ask Plus (ask)'));
      assert.match(toolResultsIn('openai', run.requests[1]).at(-1).content, /override-ran/);
    });

    test('a workspace .roomodes mode wins over the same slug in $JOEY_HOME/modes.yaml', async (t) => {
      const mode = (role, groups) => `customModes:\n  - slug: reviewer\n    name: Reviewer\n` +
          `    roleDefinition: ${role}\n    groups: [${groups}]\n`;
      const run = await runWithHome(t, 'anthropic', {
        homeFiles: {
          'modes.yaml': mode('You are GLOBAL-LOSES.', 'read') +
              '  - slug: linter\n    name: Linter\n    roleDefinition: You are GLOBAL-LINTER.\n' +
              '    groups: [read, command]\n'
        },
        files: {'.roomodes': mode('You are WORKSPACE-WINS.', 'read, edit')},
        args: ['--mode', 'reviewer'],
        turns: [complete()],
      });
      assert.equal(run.result.code, 0, run.result.output());
      assert.deepEqual(offeredTools('anthropic', run.requests[0]), toolSet(kRead, kEdit));
      const system = systemPromptOf('anthropic', run.requests[0]);
      assert.ok(system.includes('WORKSPACE-WINS'));
      assert.ok(!system.includes('GLOBAL-LOSES'));

      // A global mode no workspace file overrides is available as is.
      const global = await runWithHome(t, 'anthropic', {
        homeFiles: {'modes.yaml': mode('You are GLOBAL-ONLY.', 'read, command')},
        args: ['--mode', 'reviewer'],
        turns: [complete()],
      });
      assert.equal(global.result.code, 0, global.result.output());
      assert.deepEqual(offeredTools('anthropic', global.requests[0]), toolSet(kRead, kCommand));
      assert.ok(systemPromptOf('anthropic', global.requests[0]).includes('GLOBAL-ONLY'));
    });

    test('a broken .roomodes stops the run with an error naming the file and line', async (t) => {
      const run = await runTask(t, 'openai', {
        files: {
          '.roomodes': 'customModes:\n  - slug: bad\n    name: Bad\n    roleDefinition: x\n' +
              '    groups: [read, teleport]\n'
        },
        turns: [complete()],
      });
      assert.notEqual(run.result.code, 0, run.result.output());
      assert.match(run.result.stderr, /\.roomodes:5: mode 'bad': unknown group 'teleport'/);
      assert.equal(run.requests.length, 0);
    });
  });

  for (const protocol of kProtocols) {
    describe(`${protocol}: refusals`, () => {
      test(
          'architect is refused .py edits, naming the mode and the rule, and may write .md',
          async (t) => {
            const original = 'def greet():\n    return "hi"\n';
            const run = await runTask(t, protocol, {
              files: {'greet.py': original},
              extraArgs: ['--mode', 'architect'],
              turns: [
                call('write_to_file', {path: 'x.py', content: 'print("planned")\n'}),
                call('apply_diff', {
                  path: 'greet.py',
                  diff: '<<<<<<< SEARCH\n    return "hi"\n=======\n    return "hello"\n' +
                      '>>>>>>> REPLACE'
                }),
                call('insert_content', {path: 'greet.py', line: 0, content: '# plan\n'}),
                call('write_to_file', {path: 'docs/plan.md', content: '# Plan\n\n1. Greet.\n'}),
                complete('Wrote the plan.'),
              ],
            });
            assertCompleted(run);
            const results = eventsOfType(run.events, 'tool_result')
                                .filter((result) => result.name !== 'attempt_completion');
            assert.deepEqual(
                results.map((result) => result.ok), [false, false, false, true],
                run.result.output());
            for (const [index, target] of [[1, 'x.py'], [2, 'greet.py'], [3, 'greet.py']]) {
              const sent = toolResultsIn(protocol, run.requests[index]).at(-1);
              assert.match(sent.content, /mode 'architect' may only edit files matching \\\.md\$/);
              assert.match(sent.content, /Markdown files only/);
              assert.ok(sent.content.includes(`${target} does not match`), sent.content);
              if (protocol === 'anthropic') assert.equal(sent.is_error, true);
            }
            assert.equal(existsSync(run.file('x.py')), false, 'x.py must not be created');
            assert.equal(await readFile(run.file('greet.py'), 'utf8'), original);
            assert.equal(await readFile(run.file('docs/plan.md'), 'utf8'), '# Plan\n\n1. Greet.\n');
          });

      test(
          'ask calling execute_command anyway is refused naming the mode, and nothing runs',
          async (t) => {
            const run = await runTask(t, protocol, {
              extraArgs: ['--mode', 'ask'],
              turns: [
                call('execute_command', {command: 'echo ran > ran.txt'}),
                call('write_to_file', {path: 'answer.md', content: 'x\n'}),
                complete('Answered.'),
              ],
            });
            assertCompleted(run);
            assert.equal(existsSync(run.file('ran.txt')), false, 'the command must not run');
            assert.equal(existsSync(run.file('answer.md')), false, 'the write must not happen');
            const results = eventsOfType(run.events, 'tool_result');
            assert.equal(results[0].ok, false, run.result.output());
            assert.equal(results[1].ok, false, run.result.output());
            const command = toolResultsIn(protocol, run.requests[1]).at(-1);
            assert.match(command.content, /mode 'ask' may not use execute_command/);
            assert.match(command.content, /read, mcp/);
            if (protocol === 'anthropic') assert.equal(command.is_error, true);
            const write = toolResultsIn(protocol, run.requests[2]).at(-1);
            assert.match(write.content, /mode 'ask' may not use write_to_file/);
            // The tools stay those of ask: a refused call does not widen them.
            assert.deepEqual(offeredTools(protocol, run.requests[2]), toolSet(kRead));
          });
    });

    describe(`${protocol}: switch_mode`, () => {
      const switchToCode = call('switch_mode', {mode_slug: 'code', reason: 'time to implement'});

      test(
          'without --yes it stops with exit 3 and an approval_required for mode_switch',
          async (t) => {
            const run = await runTask(t, protocol, {
              yes: false,
              extraArgs: ['--mode', 'ask'],
              turns: [switchToCode, complete()],
            });
            assert.equal(run.result.code, 3, run.result.output());
            const approvals = eventsOfType(run.events, 'approval_required');
            assert.equal(approvals.length, 1, run.result.output());
            assert.equal(approvals[0].tool, 'switch_mode');
            assert.equal(approvals[0].kind, 'mode_switch');
            assert.match(approvals[0].description, /'ask' to 'code'.*time to implement/);
            assert.equal(run.requests.length, 1, 'nothing more is sent after the stop');
            assert.equal(eventsOfType(run.events, 'completion').length, 0);
          });

      // auto_approve may be set only in the global settings file (not a workspace one);
      // echo is allowed there so that the command in code mode runs without --yes too.
      const kGlobalConfig =
          '[auto_approve]\nmode_switch = true\n\n[commands]\nallowed = ["echo"]\n';
      const approvedBy = [
        ['--yes', {yes: true}],
        [
          'auto_approve.mode_switch in the global settings',
          {yes: false, homeFiles: {'config.toml': kGlobalConfig}}
        ],
      ];
      for (const [label, options] of approvedBy) {
        test(`approved by ${label}, the next request has code's prompt and tools`, async (t) => {
          const run = await runWithHome(t, protocol, {
            ...options,
            args: ['--mode', 'ask'],
            turns:
                [switchToCode, call('execute_command', {command: 'echo now-in-code'}), complete()],
          });
          assertCompleted(run);
          assert.equal(eventsOfType(run.events, 'approval_required').length, 0);
          assert.deepEqual(offeredTools(protocol, run.requests[0]), toolSet(kRead));
          assert.deepEqual(
              offeredTools(protocol, run.requests[1]), toolSet(kRead, kEdit, kCommand));
          const before = systemPromptOf(protocol, run.requests[0]);
          const after = systemPromptOf(protocol, run.requests[1]);
          assert.ok(before.includes('# Mode: Ask (ask)'));
          assert.ok(after.includes('# Mode: Code (code)'), after.slice(0, 400));
          assert.ok(!after.includes('# Mode: Ask (ask)'));
          const switched = toolResultsIn(protocol, run.requests[1]).at(-1);
          assert.match(switched.content, /Switched to mode 'code'/);
          assert.match(toolResultsIn(protocol, run.requests[2]).at(-1).content, /now-in-code/);
        });
      }
    });
  }
});
