// Hooks and the sandbox as `joey run` applies them from settings and flags:
// a pre_tool hook refuses a call with its stderr as the reason, post_tool and
// on_complete hooks see the events; under --sandbox a command cannot write outside
// the workspace, read hidden credentials or reach the network, and no command ever
// inherits a provider key.

import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {randomBytes} from 'node:crypto';

import {assertCompleted, complete, eventsOfType, joeyMissing, modelRequests, runTask, toolResultsIn} from './helpers.mjs';

const command = (text) => ({tool_calls: [{name: 'execute_command', arguments: {command: text}}]});
const lastResult = (run, request) => toolResultsIn('openai', modelRequests(run.provider)[request]).at(-1).content;

describe('hooks', {skip: joeyMissing}, () => {
  test('a pre_tool hook that exits non-zero refuses the call and the model sees its stderr', async (t) => {
    const hook = 'input=$(cat); case "$input" in *rm*) echo "no deleting in this repo" >&2; exit 1;; esac';
    const run = await runTask(t, 'openai', {
      homeFiles: {'config.toml': `[hooks]\npre_tool = '${hook}'\n`},
      files: {'keep.txt': 'precious\n'},
      turns: [command('rm keep.txt'), command('echo fine'), complete()],
    });
    assertCompleted(run);
    assert.ok(existsSync(run.file('keep.txt')), 'the refused command must not run');
    assert.match(lastResult(run, 1), /refused by the user's pre_tool hook: no deleting in this repo/);
    assert.match(lastResult(run, 2), /fine/, 'a call the hook allows runs');
  });

  test('post_tool and on_complete hooks receive the events as JSON on stdin', async (t) => {
    const run = await runTask(t, 'openai', {
      homeFiles: {
        'config.toml': '[hooks]\npost_tool = \'cat >> "$JOEY_HOOK.log"\'\n' +
            'on_complete = \'cat >> "$JOEY_HOOK.log"\'\n',
      },
      turns: [command('echo from-the-command'), complete('All done.')],
    });
    assertCompleted(run);
    const post = JSON.parse(await readFile(run.file('post_tool.log'), 'utf8'));
    assert.equal(post.hook, 'post_tool');
    assert.equal(post.tool, 'execute_command');
    assert.equal(post.arguments.command, 'echo from-the-command');
    assert.match(post.result, /from-the-command/);
    assert.equal(post.workspace, run.sandbox.workspace);
    const done = JSON.parse(await readFile(run.file('on_complete.log'), 'utf8'));
    assert.equal(done.hook, 'on_complete');
    assert.equal(done.result, 'All done.');
    assert.equal(done.task_id, eventsOfType(run.events, 'task_started')[0].task_id);
  });

  test('a workspace file cannot set a hook', async (t) => {
    const run = await runTask(t, 'openai', {
      files: {'.joey/config.toml': '[hooks]\npre_tool = "touch pwned"\n'},
      turns: [complete()],
      output: 'text',
    });
    assert.equal(run.result.code, 2, run.result.output());
    assert.match(run.result.stderr, /'hooks\.pre_tool' cannot be set in a workspace file/);
    assert.equal(existsSync(run.file('pwned')), false);
  });
});

describe('commands and keys', {skip: joeyMissing}, () => {
  test('P2: a command never sees the provider keys joey reads', async (t) => {
    const run = await runTask(t, 'openai', {
      env: {OPENAI_API_KEY: 'sk-test-other-provider-key', ANTHROPIC_API_KEY: 'sk-ant-test-other'},
      turns: [command('env | grep -c _API_KEY || true'), complete()],
    });
    assertCompleted(run);
    const output = lastResult(run, 1);
    assert.doesNotMatch(output, /sk-/);
    assert.match(output, /Output:\n0\n/, output);
  });
});

const bwrapWorks = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-net', '--', 'true']).status === 0;

describe('sandbox', {skip: joeyMissing || (!bwrapWorks && 'bubblewrap cannot create namespaces here')}, () => {
  test('--sandbox: the workspace is writable, the rest is not, credentials are hidden', async (t) => {
    const outside = `/var/tmp/joey-escape-${randomBytes(6).toString('hex')}`;
    t.after(() => spawnSync('rm', ['-f', outside]));
    const run = await runTask(t, 'openai', {
      homeFiles: {'.ssh/id_ed25519': 'PRIVATE KEY MATERIAL\n'},
      extraArgs: ['--sandbox'],
      turns: [
        command('echo inside > made-inside.txt && cat made-inside.txt'),
        // ../ is inside the sandbox's private /tmp; /var/tmp is the real, read-only one.
        command(`echo outside > ../escaped.txt; echo outside > ${outside}; echo "status=$?"`),
        command('cat "$HOME/.ssh/id_ed25519"; echo "status=$?"'),
        complete(),
      ],
    });
    assertCompleted(run);
    assert.match(lastResult(run, 1), /inside/);
    assert.equal(existsSync(path.join(run.sandbox.root, 'escaped.txt')), false);
    assert.equal(existsSync(outside), false);
    assert.match(lastResult(run, 2), /Read-only file system/);
    assert.match(lastResult(run, 2), /status=[1-9]/);
    assert.doesNotMatch(lastResult(run, 3), /PRIVATE KEY MATERIAL/);
    assert.match(lastResult(run, 3), /status=[1-9]/);
  });

  test('--sandbox: no network, while --sandbox-network reaches it', async (t) => {
    // The scripted provider listens on loopback: try to connect to it from the command.
    const probe = (url) => `port=$(echo "${url}" | sed 's/.*://;s,/.*,,'); ` +
        '(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && echo reached || echo unreachable';
    const closed = await runTask(t, 'openai', {
      extraArgs: ['--sandbox'],
      turns: [(request) => command(probe(request.headers.host)), complete()],
    });
    assertCompleted(closed);
    assert.match(lastResult(closed, 1), /unreachable/);
    const open = await runTask(t, 'openai', {
      extraArgs: ['--sandbox-network'],
      turns: [(request) => command(probe(request.headers.host)), complete()],
    });
    assertCompleted(open);
    assert.match(lastResult(open, 1), /reached/);
  });

  test('the sandbox setting turns it on', async (t) => {
    const run = await runTask(t, 'openai', {
      homeFiles: {'config.toml': '[sandbox]\nenabled = true\n'},
      turns: [command('touch /usr/joey-was-here; echo "status=$?"'), complete()],
    });
    assertCompleted(run);
    assert.match(lastResult(run, 1), /status=[1-9]/);
  });
});

test('--sandbox without bubblewrap is a clear error before anything runs', {skip: joeyMissing}, async (t) => {
  const run = await runTask(t, 'openai', {
    extraArgs: ['--sandbox'],
    env: {PATH: '/nonexistent'},
    turns: [complete()],
    output: 'text',
  });
  assert.notEqual(run.result.code, 0, run.result.output());
  assert.match(run.result.stderr, /--sandbox cannot be used here: .*bubblewrap/);
  assert.equal(modelRequests(run.provider).length, 0);
});
