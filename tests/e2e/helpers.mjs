// Helpers for the black-box tests of the joey binary: where it is, a sandbox per
// test (temp JOEY_HOME, HOME and workspace), running it with a bounded time, reading
// its JSON Lines, and reading what it sent to the scripted provider.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {startScriptedProvider} from './scripted_provider.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const joeyBin =
    process.env.JOEY_BIN ?? path.join(repoRoot, 'build', 'release', 'bin', 'joey');
export const joeyMissing =
    existsSync(joeyBin) ? false : `joey binary not found at ${joeyBin} (build it or set JOEY_BIN)`;

export const kProtocols = ['openai', 'anthropic'];
// The OpenAI-protocol tests use --provider openai-compatible, whose key joey reads
// from its own variable: an OPENAI_API_KEY must never travel to some other host.
export const kKeyVariable = {
  openai: 'OPENAI_COMPATIBLE_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY'
};

// The event types `joey run --output json` may print (the documented contract).
export const kEventTypes = new Set([
  'task_started',
  'text',
  'tool_call',
  'tool_result',
  'approval_required',
  'usage',
  'error',
  'completion',
  'condensed',
]);

export function fakeKey(protocol) {
  const prefix = protocol === 'anthropic' ? 'sk-ant-test-' : 'sk-test-';
  return prefix + randomBytes(24).toString('hex');
}

// A fresh directory tree for one test: root/home (HOME and JOEY_HOME) and
// root/workspace (--cwd). root/ itself is outside the workspace.
export async function makeSandbox() {
  const root = await mkdtemp(path.join(tmpdir(), 'joey-e2e-'));
  const home = path.join(root, 'home');
  const workspace = path.join(root, 'workspace');
  await mkdir(home, {mode: 0o700});
  await mkdir(workspace);
  return {root, home, workspace, cleanup: () => rm(root, {recursive: true, force: true})};
}

// The --provider/--base-url arguments that point joey at the scripted provider.
export function providerArgs(protocol, provider) {
  return protocol === 'anthropic' ?
      ['--provider', 'anthropic', '--base-url', provider.url] :
      ['--provider', 'openai-compatible', '--base-url', `${provider.url}/v1`];
}

// Runs joey with a minimal environment (nothing inherited but PATH, so no key of
// the machine leaks in). Resolves to { code, signal, stdout, stderr, timedOut }.
// `onStart(child)` is called once the process is spawned. `input` (a string) is written
// to joey's stdin, which is then closed; without it stdin is /dev/null.
export function runJoey(args, {sandbox, env = {}, timeoutMs = 30_000, onStart, input} = {}) {
  const fullEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    TMPDIR: tmpdir(),
    JOEY_RETRY_BASE_MS: '50',
    JOEY_TELEMETRY: '0',
    DO_NOT_TRACK: '1',
    ...(sandbox ? {HOME: sandbox.home, JOEY_HOME: sandbox.home} : {}),
    ...env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(
        joeyBin, args,
        {
          env: fullEnv,
          cwd: sandbox?.workspace ?? repoRoot,
          stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
        });
    if (input !== undefined) {
      child.stdin.on('error', () => {});  // joey may exit before reading everything
      child.stdin.end(input);
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        output: () => `stdout:\n${stdout}\nstderr:\n${stderr}`
      });
    });
    onStart?.(child, () => stdout);
  });
}

// Parses joey's stdout in json mode: every non-empty line must be one JSON object
// with a string "type". Throws naming the first line that is not.
export function parseJsonLines(stdout) {
  const events = [];
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  for (const [index, line] of lines.entries()) {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      throw new Error(`stdout line ${index + 1} is not JSON: ${line.slice(0, 200)}`);
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event) ||
        typeof event.type !== 'string') {
      throw new Error(
          `stdout line ${index + 1} is not an object with a string "type": ${line.slice(0, 200)}`);
    }
    events.push(event);
  }
  return events;
}

export const eventsOfType = (events, type) => events.filter((event) => event.type === type);

// The model requests (POSTs) the provider received, in order.
export const modelRequests = (provider) =>
    provider.requests.filter((request) => request.method === 'POST');

// Every place a key must never be: any request header other than its own auth
// header, any request body, joey's stdout and stderr. And it must be on every request.
export function keyLeaks(protocol, provider, key, result) {
  const problems = [];
  const authHeader = protocol === 'anthropic' ? 'x-api-key' : 'authorization';
  const expected = protocol === 'anthropic' ? key : `Bearer ${key}`;
  for (const [index, request] of provider.requests.entries()) {
    if (request.headers[authHeader] !== expected)
      problems.push(`request ${index} lacks ${authHeader} with the key`);
    for (const [name, value] of Object.entries(request.headers)) {
      if (name !== authHeader && String(value).includes(key))
        problems.push(`request ${index} header ${name} carries the key`);
    }
    const body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    if (body.includes(key)) problems.push(`request ${index} body carries the key`);
  }
  if (result.stdout.includes(key)) problems.push('stdout carries the key');
  if (result.stderr.includes(key)) problems.push('stderr carries the key');
  return problems;
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
      .filter(
          (part) => part && (part.type === 'text' || part.type === undefined) &&
              typeof part.text === 'string')
      .map((part) => part.text)
      .join('\n');
}

// The tool results a request carries (from every turn, in order), protocol-neutral:
// [{ id, content (text), is_error (Anthropic's flag; undefined for OpenAI) }].
export function toolResultsIn(protocol, request) {
  const results = [];
  for (const message of request.body.messages ?? []) {
    if (protocol === 'openai' && message.role === 'tool') {
      results.push(
          {id: message.tool_call_id, content: textOf(message.content), is_error: undefined});
    }
    if (protocol === 'anthropic' && message.role === 'user' && Array.isArray(message.content)) {
      for (const block of message.content) {
        if (block.type === 'tool_result') {
          results.push(
              {id: block.tool_use_id, content: textOf(block.content), is_error: block.is_error});
        }
      }
    }
  }
  return results;
}

// The text of the last message of a request if it is a user message (tool results
// excluded), else null.
export function lastUserText(request) {
  const last = (request.body.messages ?? []).at(-1);
  if (!last || last.role !== 'user') return null;
  return textOf(last.content);
}

// The names of the tools a request offers the model.
export function toolNamesIn(protocol, request) {
  return (request.body.tools ?? [])
      .map((tool) => (protocol === 'anthropic' ? tool.name : tool.function?.name));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `predicate` every 20 ms until it holds or `timeoutMs` passes.
export async function waitFor(predicate, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Awaited: a predicate may be async (it asks a server), and its promise alone is truthy.
    if (await predicate()) return true;
    await sleep(20);
  }
  return predicate();
}

// ---- running whole tasks against the scripted provider ----

export const kModel = 'scripted-model-1';

export const complete = (result = 'Done.') =>
    ({tool_calls: [{name: 'attempt_completion', arguments: {result}}]});

// Runs one `joey run` against a fresh provider and sandbox; cleanup is registered
// on the test context. Returns everything a test asserts on.
export async function runTask(t, protocol, options) {
  const {
    turns,
    files = {},
    homeFiles = {},  // files under JOEY_HOME, e.g. {'config.toml': ...} (global settings)
    yes = true,
    output = 'json',
    task = 'Update the greeting in greet.txt',
    extraArgs = [],
    model = kModel,
    timeoutMs = 30_000,
    onStart,
    env = {},
    keyVariable = kKeyVariable[protocol],
    providerFlags = (provider) => providerArgs(protocol, provider),
  } = options;
  const sandbox = await makeSandbox();
  const provider = await startScriptedProvider({turns, models: [model]});
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
  const key = fakeKey(protocol);
  const args = [
    'run',
    ...providerFlags(provider),
    '--model',
    model,
    ...(yes ? ['--yes'] : []),
    '--output',
    output,
    '--cwd',
    sandbox.workspace,
    ...extraArgs,
    task,
  ];
  const result =
      await runJoey(args, {sandbox, env: {...env, [keyVariable]: key}, timeoutMs, onStart});
  assert.equal(
      result.timedOut, false, `joey did not finish within ${timeoutMs} ms\n${result.output()}`);
  let events = [];
  if (output === 'json') {
    try {
      events = parseJsonLines(result.stdout);
    } catch (error) {
      assert.fail(`${error.message}\n${result.output()}`);
    }
  }
  assert.deepEqual(
      keyLeaks(protocol, provider, key, result), [], 'the key must travel only in its auth header');
  return {
    sandbox,
    provider,
    key,
    result,
    events,
    requests: modelRequests(provider),
    file: (name) => path.join(sandbox.workspace, name)
  };
}

export function errorText(run) {
  return eventsOfType(run.events, 'error').map((event) => event.message).join('\n');
}

export function assertCompleted(run) {
  assert.equal(run.result.code, 0, run.result.output());
  assert.equal(run.events.at(-1)?.type, 'completion', run.result.output());
}

export function assertFailed(run) {
  assert.equal(run.result.code, 1, run.result.output());
  assert.ok(
      eventsOfType(run.events, 'error').length > 0,
      `expected an error event\n${run.result.output()}`);
  assert.equal(eventsOfType(run.events, 'completion').length, 0, run.result.output());
}

// Every regular file under `dir`, recursively (full paths).
export async function filesUnder(dir) {
  const found = [];
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...await filesUnder(full));
    } else if (entry.isFile()) {
      found.push(full);
    }
  }
  return found;
}
