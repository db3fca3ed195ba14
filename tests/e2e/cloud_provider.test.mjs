// `joey run --provider cloud` (issue 8 §5) against a real joeyd on loopback whose proxy
// forwards to the scripted provider: a task completes over Chat Completions and over the
// Messages API; the provider sees the operator's key and never the joey token; the
// proxy's record is the only usage record (the agent does not report it again); the
// organization's allow-list refuses a model on the server and then, once the agent has
// its settings, locally in the same words — for direct providers too; `joey models
// --provider cloud` lists what the organization allows; signed out is a clear error.

import assert from 'node:assert/strict';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {
  complete,
  eventsOfType,
  fakeKey,
  joeyMissing,
  makeSandbox,
  modelRequests,
  parseJsonLines,
  runJoey,
  waitFor,
} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startProxyCloud, stopJoeyd} from './joeyd.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kAllowed = 'scripted-model-1';
const kForbidden = 'anthropic/scripted-model-2';

describe('joey run --provider cloud', {skip: joeyMissing || joeydMissing}, () => {
  let provider;
  let server;
  let root;
  let token;
  const turns = [];
  const operatorOpenAiKey = fakeKey('openai');
  const operatorAnthropicKey = fakeKey('anthropic');

  before(async () => {
    provider = await startScriptedProvider({turns, models: [kAllowed]});
    root = await mkdtemp(path.join(tmpdir(), 'joeyd-cloud-provider-e2e-'));
    ({server, token} = await startProxyCloud(
        provider.url, root, {keys: {openai: operatorOpenAiKey, anthropic: operatorAnthropicKey}}));
  });

  after(async () => {
    if (server) await stopJoeyd(server);
    if (provider) await provider.close();
    if (root) await rm(root, {recursive: true, force: true});
  });

  const cloudEnv = () => ({JOEY_CLOUD_URL: server.url, JOEY_CLOUD_TOKEN: token});

  // `joey run --provider cloud` in a fresh sandbox (or `sandbox`), JSON events out.
  async function runCloudTask(t, model, {sandbox, extraEnv = {}, task = 'Write hello into greet.txt'} = {}) {
    const box = sandbox ?? await makeSandbox();
    if (!sandbox) t.after(() => box.cleanup());
    const result = await runJoey(
        ['run', '--provider', 'cloud', '--model', model, '--yes', '--output', 'json', '--cwd', box.workspace, task],
        {sandbox: box, env: {...cloudEnv(), ...extraEnv}, timeoutMs: 60_000});
    return {result, sandbox: box, events: result.code === 0 ? parseJsonLines(result.stdout) : []};
  }

  const writeTurns = () => [
    {tool_calls: [{name: 'write_to_file', arguments: {path: 'greet.txt', content: 'hello\n'}}],
     usage: {input: 100, output: 10}},
    {...complete('Wrote greet.txt.'), usage: {input: 130, output: 5}},
  ];

  test('a task completes through the proxy over Chat Completions, metered once', async (t) => {
    const before = provider.requests.length;
    turns.push(...writeTurns());
    const run = await runCloudTask(t, kAllowed);
    assert.equal(run.result.code, 0, run.result.output());
    assert.equal(await readFile(path.join(run.sandbox.workspace, 'greet.txt'), 'utf8'), 'hello\n');
    const upstream = modelRequests(provider).slice(-2);
    assert.equal(provider.requests.length - before, 2, 'two model requests reached the provider');
    for (const request of upstream) {
      assert.equal(request.path, '/v1/chat/completions');
      assert.equal(request.headers.authorization, `Bearer ${operatorOpenAiKey}`);
      assert.ok(!JSON.stringify(request).includes(token), 'the joey token stays at the proxy');
    }
    const taskId = eventsOfType(run.events, 'task_started')[0].task_id;
    // The messages were uploaded (collection is on by default) ...
    assert.ok(await waitFor(async () => (await api(server, 'GET', `/api/tasks/${taskId}`, {token})).status === 200),
              'the task reached the Cloud');
    // ... and the usage counted once: the proxy's two records, no report from the agent.
    const report = await api(server, 'GET', '/api/me/usage?group_by=model', {token});
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal(report.body.total.requests, 2, JSON.stringify(report.body));
    assert.equal(report.body.total.input_tokens, 230);
    assert.equal(report.body.total.output_tokens, 15);
  });

  test('a Claude model goes through the Messages API', async (t) => {
    turns.push(...writeTurns());
    const run = await runCloudTask(t, 'anthropic/scripted-model-1');
    assert.equal(run.result.code, 0, run.result.output());
    const upstream = modelRequests(provider).slice(-2);
    for (const request of upstream) {
      assert.equal(request.path, '/v1/messages');
      assert.equal(request.headers['x-api-key'], operatorAnthropicKey);
      assert.equal(request.body.model, 'scripted-model-1', 'the proxy removed the provider prefix');
    }
  });

  test('the allow-list refuses on the server, then in the agent with the same words', async (t) => {
    const org = await api(server, 'POST', '/api/orgs', {body: {name: 'Acme'}, token});
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const orgId = org.body.id ?? org.body.organization?.id;
    const current = await api(server, 'GET', `/api/orgs/${orgId}/settings`, {token});
    const patched = await api(server, 'PATCH', `/api/orgs/${orgId}/settings`, {
      body: {
        version: current.body.version,
        allow_list: {allow_all: false, providers: {openai: {allow_all: false, models: [kAllowed, 'gpt-4.1']}}},
      },
      token,
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));

    // The first run starts without the organization's settings: the proxy refuses the
    // request — or the agent itself, when the upload's fetch of the settings (started
    // beside the task) lands before the task's own check. Either way in the same words.
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const count = provider.requests.length;
    const first = await runCloudTask(t, kForbidden, {sandbox});
    assert.notEqual(first.result.code, 0, first.result.output());
    const words = "the model 'scripted-model-2' (anthropic) is not allowed: your organization's admin restricts which models its members can use";
    assert.ok(first.result.output().includes(`the joey Cloud refused the request (HTTP 403: ${words}`) ||
                  first.result.stderr.includes(`joey: error: ${words}`),
              first.result.output());
    assert.equal(provider.requests.length, count, 'nothing reached the provider');

    // The agent fetched the organization's settings meanwhile: now it refuses by itself,
    // before any request, with the same words.
    assert.ok(await waitFor(async () => {
      try {
        return (await readFile(path.join(sandbox.home, 'cloud', 'agent-settings.json'), 'utf8')).includes('allow_list');
      } catch {
        return false;
      }
    }), 'the agent fetched the organization\'s settings');
    const second = await runCloudTask(t, kForbidden, {sandbox});
    assert.equal(second.result.code, 2, second.result.output());
    assert.ok(second.result.stderr.includes(`joey: error: ${words}`), second.result.output());
    const usage = await api(server, 'GET', '/api/me/usage', {token});
    const refusedBefore = usage.body.total.requests;

    // The list binds direct providers too: the same organization, the scripted provider
    // reached without the proxy, a model the list does not name.
    const direct = await runJoey(
        ['run', '--provider', 'openai-compatible', '--base-url', `${provider.url}/v1`, '--model', 'scripted-model-3',
         '--output', 'json', '--cwd', sandbox.workspace, 'hello'],
        {sandbox, env: cloudEnv()});
    assert.equal(direct.code, 2, direct.output());
    assert.match(direct.stderr, /model 'scripted-model-3' \(openai-compatible\) is not allowed/);
    assert.equal(provider.requests.length, count, 'still nothing reached the provider');
    assert.equal((await api(server, 'GET', '/api/me/usage', {token})).body.total.requests, refusedBefore);

    // An allowed model still works, and `joey models` lists only what the list allows.
    turns.push(complete('Fine.'));
    const allowed = await runCloudTask(t, kAllowed, {sandbox, task: 'say fine'});
    assert.equal(allowed.result.code, 0, allowed.result.output());
    const models = await runJoey(['models', '--provider', 'cloud'], {sandbox, env: cloudEnv()});
    assert.equal(models.code, 0, models.output());
    // The listing holds the models joey knows prices for, as far as the list allows them.
    assert.deepEqual(models.stdout.trim().split('\n'), ['gpt-4.1']);
  });

  test('signed out, --provider cloud says how to sign in', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const result = await runJoey(['run', '--provider', 'cloud', '--cwd', sandbox.workspace, 'hello'], {sandbox});
    assert.equal(result.code, 1, result.output());
    assert.match(result.stderr, /--provider cloud uses the joey Cloud you are signed in to.*joey login/);
  });
});
