// Cloud task history from the agent's side, against a real joeyd on loopback (SQLite in
// a temporary data directory) and the scripted provider: a signed-in `joey run` with
// collection on leaves a task that GET /api/tasks?q= finds by a canary phrase; with the
// organization's record_task_messages off, the user's task_sync_enabled off, signed out,
// or the settings unknown (the Cloud down when the run starts) nothing is uploaded or
// queued; `joey history --cloud list|search|show` read the Cloud's copy.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';

import {
  complete,
  eventsOfType,
  filesUnder,
  fakeKey,
  joeyMissing,
  kKeyVariable,
  kModel,
  makeSandbox,
  parseJsonLines,
  providerArgs,
  runJoey,
  runTask
} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startJoeyd, stopJoeyd} from './joeyd.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kPassword = 'correct horse battery';

// A word the search can only find in this test's task.
function canary() {
  return 'canary' + [...randomBytes(8)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('');
}

// A temporary directory for joeyd's data, removed when the test ends.
async function makeDataDir(t) {
  const root = await mkdtemp(path.join(tmpdir(), 'joeyd-e2e-'));
  t.after(() => rm(root, {recursive: true, force: true}));
  return path.join(root, 'data');
}

// A loopback port nobody listens on right now (so joeyd can come back on the same URL).
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const {port} = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// A joeyd on loopback, stopped when the test ends (or earlier by stop()).
async function startCloud(t, dataDir, port = 0) {
  const server = await startJoeyd(['--listen', `127.0.0.1:${port}`, '--data', dataDir], {home: path.dirname(dataDir)});
  let stopped = false;
  const stop = async () => {
    if (!stopped) await stopJoeyd(server);
    stopped = true;
  };
  t.after(stop);
  return {server, stop};
}

async function signUp(server) {
  const signup = await api(server, 'POST', '/api/auth/signup',
                           {body: {email: 'ada@example.com', password: kPassword, name: 'Ada'}});
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const created = await api(server, 'POST', '/api/tokens', {body: {name: 'agent'}, cookie: signup.cookie});
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.token;
}

const cloudEnv = (server, token) => ({JOEY_CLOUD_URL: server.url, JOEY_CLOUD_TOKEN: token});

// `joey run` of a one-turn task whose text holds `word`.
async function runCanaryTask(t, word, env) {
  const run = await runTask(t, 'openai', {
    turns: [{text: `Looked at ${word}.`}, complete(`Finished ${word}.`)],
    task: `Find the ${word} in the code\nand report it`,
    env,
  });
  assert.equal(run.result.code, 0, run.result.output());
  const started = eventsOfType(run.events, 'task_started')[0];
  return {...run, taskId: started.task_id};
}

async function outboxFiles(home) {
  try {
    return await readdir(path.join(home, 'cloud', 'outbox'));
  } catch {
    return [];
  }
}

async function searchTasks(server, token, word) {
  const found = await api(server, 'GET', `/api/tasks?q=${word}`, {token});
  assert.equal(found.status, 200, JSON.stringify(found.body));
  return found.body.tasks;
}

describe('joey uploads task history to joeyd', {skip: joeyMissing || joeydMissing}, () => {
  test('collection on: the task is found by its canary, and joey history --cloud reads it', async (t) => {
    const dataDir = await makeDataDir(t);
    const {server, stop} = await startCloud(t, dataDir);
    const token = await signUp(server);
    const word = canary();
    const run = await runCanaryTask(t, word, cloudEnv(server, token));

    const tasks = await searchTasks(server, token, word);
    assert.equal(tasks.length, 1, JSON.stringify(tasks));
    assert.equal(tasks[0].id, run.taskId);
    assert.equal(tasks[0].title, `Find the ${word} in the code`);
    assert.equal(tasks[0].mode, 'code');
    const full = await api(server, 'GET', `/api/tasks/${run.taskId}`, {token});
    assert.equal(full.status, 200);
    const roles = full.body.messages.map((message) => message.role);
    assert.equal(roles[0], 'user');
    assert.ok(roles.includes('assistant') && roles.includes('tool_call') && roles.includes('tool_result'), roles.join());
    assert.deepEqual(await outboxFiles(run.sandbox.home), [], 'everything was sent before joey exited');

    const sandbox = run.sandbox;
    const env = cloudEnv(server, token);
    const list = await runJoey(['history', '--cloud', 'list'], {sandbox, env});
    assert.equal(list.code, 0, list.output());
    assert.match(list.stdout, new RegExp(run.taskId));
    assert.match(list.stdout, new RegExp(`Find the ${word} in the code`));
    const search = await runJoey(['history', '--cloud', 'search', word], {sandbox, env});
    assert.equal(search.code, 0, search.output());
    assert.match(search.stdout, new RegExp(run.taskId));
    const none = await runJoey(['history', '--cloud', 'search', canary()], {sandbox, env});
    assert.equal(none.code, 0, none.output());
    assert.match(none.stdout, /No task in the joey Cloud matches/);
    const show = await runJoey(['history', '--cloud', 'show', run.taskId], {sandbox, env});
    assert.equal(show.code, 0, show.output());
    assert.match(show.stdout, new RegExp(`Finished ${word}`));
    const json = await runJoey(['history', '--cloud', 'list', '--json'], {sandbox, env});
    assert.equal(JSON.parse(json.stdout)[0].id, run.taskId);
    const missing = await runJoey(['history', '--cloud', 'show', '20200101T000000-00000000'], {sandbox, env});
    assert.equal(missing.code, 1, missing.output());
    assert.match(missing.stderr, /joey: error: reading task 20200101T000000-00000000/);
    assert.ok(!(list.stdout + list.stderr + show.stderr).includes(token), 'the token is never printed');

    // At rest (P8): the canary the search found is in no byte of joeyd's data directory
    // (database, WAL, key file) nor its log; the account's email is (so the scan reads them).
    await stop();
    const stored = Buffer.concat(await Promise.all((await filesUnder(dataDir)).map((file) => readFile(file))));
    assert.ok(stored.includes('ada@example.com'), 'the scan reads the database');
    assert.ok(!stored.includes(word), 'the canary is in the data directory');
    assert.ok(!stored.includes(`Finished ${word}`));
    assert.ok(!(server.stdout + server.stderr).includes(word), "the canary is in joeyd's log");
  });

  test('organization record_task_messages off: nothing is uploaded, and a direct upload is refused', async (t) => {
    const {server} = await startCloud(t, await makeDataDir(t));
    const token = await signUp(server);
    const org = await api(server, 'POST', '/api/orgs', {body: {name: 'Acme'}, token});
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const orgId = org.body.id ?? org.body.organization?.id;
    const current = await api(server, 'GET', `/api/orgs/${orgId}/settings`, {token});
    const patched = await api(server, 'PATCH', `/api/orgs/${orgId}/settings`,
                              {body: {version: current.body.version, cloud: {record_task_messages: false}}, token});
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const settings = await api(server, 'GET', '/api/agent/settings', {token});
    assert.equal(settings.body.collection.enabled, false);

    const word = canary();
    const run = await runCanaryTask(t, word, cloudEnv(server, token));
    assert.deepEqual(await searchTasks(server, token, word), []);
    assert.deepEqual((await api(server, 'GET', '/api/tasks', {token})).body.tasks, []);
    assert.deepEqual(await outboxFiles(run.sandbox.home), []);
    const direct = await api(server, 'POST', `/api/tasks/${run.taskId}/messages`,
                             {body: {batch_id: 'b1', messages: [{ts: 1, role: 'user', content: word}]}, token});
    assert.equal(direct.status, 403);
    assert.equal(direct.body.error.code, 'collection_disabled');
  });

  test('user task_sync_enabled off: nothing is uploaded', async (t) => {
    const {server} = await startCloud(t, await makeDataDir(t));
    const token = await signUp(server);
    const off = await api(server, 'PATCH', '/api/me/settings', {body: {task_sync_enabled: false}, token});
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const word = canary();
    const run = await runCanaryTask(t, word, cloudEnv(server, token));
    assert.deepEqual((await api(server, 'GET', '/api/tasks', {token})).body.tasks, []);
    assert.deepEqual(await outboxFiles(run.sandbox.home), []);
  });

  test('signed out: nothing is uploaded and joey history --cloud says how to sign in', async (t) => {
    const {server} = await startCloud(t, await makeDataDir(t));
    const token = await signUp(server);
    const word = canary();
    const run = await runCanaryTask(t, word, {});
    assert.deepEqual((await api(server, 'GET', '/api/tasks', {token})).body.tasks, []);
    assert.deepEqual(await outboxFiles(run.sandbox.home), []);
    const list = await runJoey(['history', '--cloud', 'list'], {sandbox: run.sandbox});
    assert.equal(list.code, 1, list.output());
    assert.match(list.stderr, /not signed in to a joey Cloud: run `joey login --server URL`/);
  });

  test('settings unknown (the Cloud is down when the run starts): nothing is queued or uploaded', async (t) => {
    const dataDir = await makeDataDir(t);
    const first = await startCloud(t, dataDir);
    const token = await signUp(first.server);
    const downUrl = first.server.url;
    await first.stop();
    const word = canary();
    const run = await runCanaryTask(t, word, {JOEY_CLOUD_URL: downUrl, JOEY_CLOUD_TOKEN: token});
    assert.deepEqual(await outboxFiles(run.sandbox.home), [], 'nothing waits to be sent later either');
    const {server} = await startCloud(t, dataDir);
    assert.deepEqual((await api(server, 'GET', '/api/tasks', {token})).body.tasks, []);
  });

  test('the upload queue survives a Cloud that is down for a while, without duplicates', async (t) => {
    const dataDir = await makeDataDir(t);
    const port = await freePort();
    let cloud = await startCloud(t, dataDir, port);
    const token = await signUp(cloud.server);
    const sandbox = await makeSandbox();
    const words = [canary(), canary(), canary()];
    const provider = await startScriptedProvider({
      turns: words.flatMap((word) => [{text: `Looked at ${word}.`}, complete(`Finished ${word}.`)]),
      models: [kModel],
    });
    t.after(async () => {
      await provider.close();
      await sandbox.cleanup();
    });
    const run = async (word) => {
      const result = await runJoey(
          ['run', ...providerArgs('openai', provider), '--model', kModel, '--yes', '--output', 'json',
           '--cwd', sandbox.workspace, `Find the ${word}`],
          {sandbox, env: {...cloudEnv(cloud.server, token), [kKeyVariable.openai]: fakeKey('openai')}});
      assert.equal(result.code, 0, result.output());
      return eventsOfType(parseJsonLines(result.stdout), 'task_started')[0].task_id;
    };

    const directTask = await run(words[0]);  // the Cloud answers: collection on, and the answer is cached
    await cloud.stop();
    const queuedTask = await run(words[1]);  // the cache (under a day old) keeps the gate on
    const queued = await outboxFiles(sandbox.home);
    assert.ok(queued.length >= 1 && queued.every((name) => name.endsWith('.json')), queued.join());

    cloud = await startCloud(t, dataDir, port);
    await run(words[2]);  // sends what the last run left, then its own task
    assert.deepEqual(await outboxFiles(sandbox.home), []);
    for (const word of words) assert.equal((await searchTasks(cloud.server, token, word)).length, 1, word);
    // The same script made both tasks: the queued one has exactly the messages the
    // directly uploaded one has, none twice.
    const roles = async (id) => {
      const task = await api(cloud.server, 'GET', `/api/tasks/${id}`, {token});
      assert.equal(task.status, 200);
      return task.body.messages.map((message) => message.role);
    };
    const direct = await roles(directTask);
    assert.ok(direct.length >= 4, direct.join());
    assert.deepEqual(await roles(queuedTask), direct);
  });
});
