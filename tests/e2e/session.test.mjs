// The interactive session (`joey` with no task) driven through its stdin, as a script
// or a person would: the conversation carries on from message to message, approvals
// and questions are answered by the next line typed, slash commands change the mode,
// the model and the files, and what the model writes cannot drive the terminal.
// The last tests run joey on a real pseudo-terminal (util-linux `script`): Markdown is
// rendered with colour there, and Ctrl-C cancels the request in flight.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {complete, fakeKey, joeyBin, joeyMissing, kKeyVariable, kProtocols, lastUserText, makeSandbox, modelRequests, providerArgs, runJoey, toolNamesIn, toolResultsIn, waitFor} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kModel = 'session-model-1';

async function setUp(t, {turns, files = {}, homeFiles = {}, models = [kModel]}) {
  const sandbox = await makeSandbox();
  const provider = await startScriptedProvider({turns, models});
  t.after(async () => {
    await provider.close();
    await sandbox.cleanup();
  });
  for (const [dir, entries] of [[sandbox.workspace, files], [sandbox.home, homeFiles]]) {
    for (const [name, content] of Object.entries(entries)) {
      await mkdir(path.dirname(path.join(dir, name)), {recursive: true});
      await writeFile(path.join(dir, name), content);
    }
  }
  return {sandbox, provider, file: (name) => path.join(sandbox.workspace, name)};
}

// Runs a whole session: `lines` are typed one after the other, then input ends.
async function runSession(t, protocol, {lines, extraArgs = [], ...setup}) {
  const {sandbox, provider, file} = await setUp(t, setup);
  const key = fakeKey(protocol);
  const result = await runJoey(
      [...providerArgs(protocol, provider), '--model', kModel, '--cwd', sandbox.workspace, ...extraArgs],
      {sandbox, env: {[kKeyVariable[protocol]]: key}, input: lines.map((line) => line + '\n').join('')});
  assert.equal(result.timedOut, false, result.output());
  assert.equal(result.code, 0, result.output());
  return {sandbox, provider, file, result, requests: modelRequests(provider)};
}

const write = (name, content) =>
    ({tool_calls: [{name: 'write_to_file', arguments: {path: name, content, line_count: 1}}]});

describe('interactive session', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: messages continue one conversation; y approves, a question is answered`, async (t) => {
      const run = await runSession(t, protocol, {
        files: {'greet.txt': 'hello\n'},
        turns: [
          {text: 'Changing it.', ...write('greet.txt', 'hi there\n')},
          complete('Changed the greeting.'),
          {tool_calls: [{name: 'ask_followup_question', arguments: {question: 'Which language?'}}]},
          complete('Translated.'),
        ],
        lines: ['change the greeting', 'y', 'now translate it', 'French'],
      });
      assert.equal(await readFile(run.file('greet.txt'), 'utf8'), 'hi there\n');
      assert.equal(run.requests.length, 4, run.result.output());
      // The second message's first request carries the whole first exchange.
      const third = run.requests[2];
      assert.equal(lastUserText(third), 'now translate it');
      const texts = JSON.stringify(third.body.messages);
      assert.match(texts, /change the greeting/);
      assert.match(texts, /Changed the greeting/);
      // The typed answer went back as the question's result.
      assert.match(toolResultsIn(protocol, run.requests[3]).at(-1).content, /The user answered: French/);
      assert.match(run.result.stdout, /Changed the greeting\./);
      assert.match(run.result.stdout, /Translated\./);
    });
  }

  test('n refuses, and any other answer is refused and sent to the model', async (t) => {
    const run = await runSession(t, 'openai', {
      turns: [write('a.txt', 'x\n'), write('b.txt', 'y\n'), complete('Gave up.')],
      lines: ['make two files', 'n', 'use tabs, not spaces'],
    });
    assert.equal(existsSync(run.file('a.txt')), false);
    assert.equal(existsSync(run.file('b.txt')), false);
    const results = toolResultsIn('openai', run.requests[2]);
    assert.match(results[0].content, /declined/);
    assert.match(results[1].content, /the user declined and said: use tabs, not spaces/);
  });

  test('a approves that kind of action for the rest of the session', async (t) => {
    const run = await runSession(t, 'openai', {
      turns: [write('a.txt', '1\n'), write('b.txt', '2\n'), complete('Both written.')],
      // One answer only: the line after it must reach the prompt as a command.
      lines: ['make two files', 'a', '/cost'],
    });
    assert.equal(await readFile(run.file('a.txt'), 'utf8'), '1\n');
    assert.equal(await readFile(run.file('b.txt'), 'utf8'), '2\n');
    assert.match(run.result.stdout, /This session: +tokens:/);
  });

  test('a denied command is refused without asking', async (t) => {
    const run = await runSession(t, 'openai', {
      homeFiles: {'config.toml': '[commands]\ndenied = ["rm"]\n'},
      files: {'keep.txt': 'precious\n'},
      turns: [
        {tool_calls: [{name: 'execute_command', arguments: {command: 'rm keep.txt'}}]},
        complete('Could not delete.'),
      ],
      lines: ['delete keep.txt', '/cost'],
    });
    assert.ok(existsSync(run.file('keep.txt')));
    assert.match(toolResultsIn('openai', run.requests[1]).at(-1).content, /command policy/);
    assert.doesNotMatch(run.result.stdout, /allow\?/);
  });

  test('/undo puts the files back, /clear starts over, /mode and /model apply to the next request', async (t) => {
    const run = await runSession(t, 'anthropic', {
      files: {'notes.md': 'original\n'},
      models: [kModel, 'session-model-2'],
      turns: [write('notes.md', 'changed\n'), complete('Edited.'), complete('Fresh start.')],
      lines: [
        'edit the notes', 'y', '/undo', '/history', '/clear', '/mode ask', '/model session-model-2',
        'what is in the notes?', '/mode nonsense', '/frobnicate', '/exit', 'never sent',
      ],
    });
    assert.equal(await readFile(run.file('notes.md'), 'utf8'), 'original\n');
    assert.match(run.result.stdout, /Restored the files to checkpoint 1/);
    assert.match(run.result.stdout, /completed +edit the notes/);  // /history
    assert.equal(run.requests.length, 3, run.result.output());
    const last = run.requests[2];
    assert.equal(last.body.model, 'session-model-2');
    assert.equal(last.body.messages.length, 1, 'after /clear only the new message is sent');
    const tools = toolNamesIn('anthropic', last);
    assert.ok(!tools.includes('write_to_file'), `ask mode offers no edits: ${tools}`);
    assert.match(run.result.stdout, /unknown command \/frobnicate/);
    assert.match(run.result.stdout, /nonsense/);  // the unknown mode is named
  });

  test('the model cannot drive the terminal: control sequences are neutralised', async (t) => {
    const run = await runSession(t, 'openai', {
      turns: [{text: 'red \u001b[31mtext\u001b]0;title\u0007 and a bell', ...complete('\u001b[2Jcleared?')}],
      lines: ['say something'],
    });
    assert.doesNotMatch(run.result.stdout, /\u001b/, 'no escape byte from the model reaches the terminal');
    assert.doesNotMatch(run.result.stdout, /\u0007/);
    assert.match(run.result.stdout, /red \uFFFD\[31mtext/);
  });
});

// Runs joey on a pseudo-terminal through util-linux `script`; `onOutput(text, child)` sees
// all output so far each time more arrives. Resolves with { code, output }: joey's own
// exit status, which the shell prints after it (script's status is not joey's).
function runOnTerminal(args, {sandbox, env, onOutput, timeoutMs = 20_000}) {
  // The shell ignores SIGINT (Ctrl-C reaches the terminal's whole process group) so it
  // lives to print joey's status; joey sets its own handler.
  const command = 'trap "" INT; ' + [joeyBin, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ') +
      '; echo "joey-exit=$?"';
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: {
        PATH: process.env.PATH,
        LANG: 'C.UTF-8',
        TERM: 'xterm-256color',
        HOME: sandbox.home,
        JOEY_HOME: sandbox.home,
        JOEY_TELEMETRY: '0',
        ...env,
      },
      cwd: sandbox.workspace,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      onOutput(output, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const status = /joey-exit=(\d+)/.exec(output);
      resolve({code: status ? Number(status[1]) : null, output});
    });
  });
}

// Whether the prompt was shown again after `marker` appeared: input typed earlier, while
// the terminal is not reading a line, could be lost (an early Ctrl-D in particular).
const promptAfter = (output, marker) =>
    output.includes(marker) && output.lastIndexOf('code') > output.lastIndexOf(marker);

const scriptMissing = existsSync('/usr/bin/script') ? false : 'util-linux `script` is not installed';

describe('interactive session on a terminal', {skip: joeyMissing || scriptMissing}, () => {
  test('Markdown is rendered with colour and the prompt shows the mode', async (t) => {
    const {sandbox, provider} = await setUp(t, {
      turns: [{text: '# Plan\n- first **step**\n', ...complete('All `done`.')}],
    });
    let sent = false;
    let quit = false;
    const run = await runOnTerminal(
        [...providerArgs('openai', provider), '--model', kModel, '--cwd', sandbox.workspace], {
          sandbox,
          env: {[kKeyVariable.openai]: fakeKey('openai')},
          // Generous: on a machine busy with builds the task and the resent Ctrl-Ds below
          // need more than the default 20 s.
          timeoutMs: 60_000,
          onOutput: (output, child) => {
            if (!sent && output.includes('code')) {
              sent = true;
              child.stdin.write('plan it\r');
            }
            if (!quit && promptAfter(output, 'cost unknown')) {
              quit = true;
              // A Ctrl-D typed while the line editor switches the terminal's mode can be
              // lost, or taken into the line as a character (shown as "^D"), after which
              // Ctrl-D no longer ends input. So each try first empties the line (Ctrl-A,
              // Ctrl-K), then sends Ctrl-D, until joey exits (bounded).
              let tries = 0;
              const send = () => {
                if (child.exitCode !== null || !child.stdin.writable || tries++ >= 20) return;
                child.stdin.write(tries === 1 ? '\u0004' : '\u0001\u000b\u0004');
                setTimeout(send, 2000).unref();
              };
              send();
            }
          },
        });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /\u001b\[[0-9;]*m/, 'styles on a terminal');
    assert.match(run.output, /Plan/);
    assert.doesNotMatch(run.output, /# Plan/, 'the heading is rendered, not shown raw');
    assert.match(run.output, /•/, 'bullets are rendered');
    assert.doesNotMatch(run.output, /\*\*step\*\*/, 'bold is rendered');
  });

  test('Ctrl-C cancels the request in flight and the session goes on', async (t) => {
    const {sandbox, provider} = await setUp(t, {
      turns: [
        {text: 'thinking slowly', chunk_delay_ms: 5_000, ...complete('late')},
        complete('Second answer.'),
      ],
    });
    const state = {typed: false, interrupted: false, again: false, quit: false};
    const run = await runOnTerminal(
        [...providerArgs('openai', provider), '--model', kModel, '--cwd', sandbox.workspace], {
          sandbox,
          env: {[kKeyVariable.openai]: fakeKey('openai')},
          onOutput: (output, child) => {
            if (!state.typed && output.includes('code ')) {
              state.typed = true;
              child.stdin.write('first\r');
            } else if (state.typed && !state.interrupted && provider.requests.length >= 1) {
              state.interrupted = true;
              setTimeout(() => child.stdin.write('\u0003'), 200);
            } else if (!state.again && promptAfter(output, 'cancelled')) {
              state.again = true;
              child.stdin.write('second\r');
            } else if (!state.quit && promptAfter(output, 'Second answer.')) {
              state.quit = true;
              child.stdin.write('\u0004');
            }
          },
        });
    assert.equal(run.code, 0, run.output);
    assert.ok(state.again, `the cancel was reported:\n${run.output}`);
    assert.match(run.output, /Second answer\./);
    assert.ok(await waitFor(() => modelRequests(provider).length === 2), 'two model requests');
  });
});
