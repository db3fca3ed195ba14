// Black-box tests of joey's anonymous telemetry (privacy promise P4) against a
// recording PostHog-compatible server on loopback (telemetry_server.mjs):
//   - a full `joey run` sends POST /batch/ bodies that follow the schema PostHog
//     documents for /batch/, carrying only allow-listed events and properties, and no
//     canary placed in a file's content, a file's path or the task text;
//   - off in each of the three ways (setting, JOEY_TELEMETRY=0, DO_NOT_TRACK=1): zero
//     requests during a full task, no machine id, the queue file deleted;
//   - offline: events land in the on-disk queue and the next run sends them;
//   - when posthog-node is installed, joey's batch has the real client's shape.
// Skipped with the reason when the binary is missing or has no `telemetry` command.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {complete, fakeKey, joeyMissing, kKeyVariable, kModel, makeSandbox, providerArgs, runJoey, runTask} from './helpers.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';
import {startTelemetryServer} from './telemetry_server.mjs';

async function telemetryMissing() {
  if (joeyMissing) return joeyMissing;
  const sandbox = await makeSandbox();
  try {
    const probe = await runJoey(['telemetry', 'status'], {sandbox});
    if (probe.code !== 0) {
      return `this joey binary has no \`telemetry\` command (stderr: ${
          probe.stderr.trim().slice(0, 200)})`;
    }
    return false;
  } finally {
    await sandbox.cleanup();
  }
}

const skip = await telemetryMissing();

// The spec: every event joey may send and the properties each may carry.
const kCommon = ['app_version', 'os_family'];
const kTask = ['provider', 'model', 'mode'];
const kTokens = ['input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'];
const kAllowed = {
  task_created: [...kCommon, ...kTask],
  task_completed: [...kCommon, ...kTask, 'duration_ms', ...kTokens],
  task_failed: [...kCommon, ...kTask, 'duration_ms', ...kTokens, 'error_class'],
  tool_used: [...kCommon, ...kTask, 'tool', 'ok'],
  mode_switched: [...kCommon, 'from_mode', 'mode'],
  checkpoint_restored: [...kCommon, 'mode'],
  context_condensed: [...kCommon, ...kTask, 'tokens_before', 'tokens_after'],
  diff_failed: [...kCommon, ...kTask],
  error: [...kCommon, ...kTask, 'error_class'],
};
const kDollarProperties =
    new Set(['$process_person_profile', '$geoip_disable', '$lib', '$lib_version']);
const kNotice = 'anonymous usage telemetry';

const kUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const kIso8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// PostHog's documented /batch/ body: { api_key, batch: [{ event, properties?,
// distinct_id (top level or in properties), timestamp? (ISO 8601), uuid? }] }.
// Returns the problems found (empty when the body is valid).
function postHogBatchProblems(body) {
  if (!isObject(body)) return ['the body is not a JSON object'];
  const problems = [];
  if (typeof body.api_key !== 'string' || body.api_key === '')
    problems.push('api_key must be a non-empty string');
  if (!Array.isArray(body.batch) || body.batch.length === 0) {
    problems.push('batch must be a non-empty array');
    return problems;
  }
  for (const [index, item] of body.batch.entries()) {
    const where = `batch[${index}]`;
    if (!isObject(item)) {
      problems.push(`${where} is not an object`);
      continue;
    }
    if (typeof item.event !== 'string' || item.event === '')
      problems.push(`${where}.event must be a non-empty string`);
    if (item.properties !== undefined && !isObject(item.properties))
      problems.push(`${where}.properties must be an object`);
    const distinctId = item.distinct_id ?? item.properties?.distinct_id;
    if (typeof distinctId !== 'string' || distinctId === '')
      problems.push(`${where} needs a distinct_id`);
    if (item.timestamp !== undefined &&
        (typeof item.timestamp !== 'string' || !kIso8601.test(item.timestamp) ||
         Number.isNaN(Date.parse(item.timestamp))))
      problems.push(`${where}.timestamp must be ISO 8601`);
    if (item.uuid !== undefined && (typeof item.uuid !== 'string' || !kUuid.test(item.uuid)))
      problems.push(`${where}.uuid must be a UUID`);
  }
  return problems;
}

// What joey promises beyond PostHog's schema: its own key, a uuid v4 per event, the
// privacy $-properties, and only allow-listed events and properties.
function joeyEventProblems(event, machineId) {
  const problems = [];
  const name = event.event;
  if (!(name in kAllowed)) return [`event ${name} is not on the allow-list`];
  if (event.distinct_id !== machineId) problems.push(`${name}: distinct_id is not the machine id`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(event.uuid))
    problems.push(`${name}: uuid ${event.uuid} is not a v4 UUID`);
  if (!event.timestamp?.endsWith('Z')) problems.push(`${name}: timestamp is not UTC`);
  const properties = event.properties ?? {};
  if (properties.$process_person_profile !== false)
    problems.push(`${name}: $process_person_profile must be false`);
  if (properties.$geoip_disable !== true) problems.push(`${name}: $geoip_disable must be true`);
  if (properties.$lib !== 'joey') problems.push(`${name}: $lib must be "joey"`);
  for (const [key, value] of Object.entries(properties)) {
    if (kDollarProperties.has(key)) continue;
    if (!kAllowed[name].includes(key)) problems.push(`${name}: property ${key} is not allowed`);
    if (isObject(value) || Array.isArray(value)) problems.push(`${name}: ${key} is not a scalar`);
  }
  return problems;
}

const telemetryEnv = (server) =>
    ({JOEY_TELEMETRY: '1', DO_NOT_TRACK: '', JOEY_TELEMETRY_HOST: server.url});

const canaryFor = () => `CANARY${randomBytes(8).toString('hex')}`;

// A task that reads a file whose path and content carry the canary, fails one
// apply_diff on it, and completes.
function canaryTask(canary) {
  const file = `dir-${canary}/notes-${canary}.txt`;
  return {
    files: {[file]: `the secret word is ${canary}\n`},
    task: `Look at ${file} and tell me about ${canary}`,
    turns: [
      {tool_calls: [{name: 'read_file', arguments: {path: file}}], usage: {input: 100, output: 10}},
      {
        tool_calls: [{
          name: 'apply_diff',
          arguments: {
            path: file,
            diff: `<<<<<<< SEARCH\nnot in the file ${canary}\n=======\nx\n>>>>>>> REPLACE\n`
          }
        }],
        usage: {input: 150, output: 20},
      },
      {...complete(`Read ${canary}.`), usage: {input: 200, output: 5}},
    ],
  };
}

async function allEvents(server) {
  return server.batches().flatMap((body) => body?.batch ?? []);
}

describe('joey telemetry', {skip}, () => {
  test('a full task sends PostHog batches of allow-listed events and no canary', async (t) => {
    const server = await startTelemetryServer();
    t.after(() => server.close());
    const canary = canaryFor();
    const run = await runTask(t, 'openai', {...canaryTask(canary), env: telemetryEnv(server)});
    assert.equal(run.result.code, 0, run.result.output());
    assert.match(run.result.stderr, new RegExp(kNotice), 'the first run shows the notice');

    assert.ok(server.requests.length > 0, 'the telemetry server got no request');
    const machineId = (await readFile(path.join(run.sandbox.home, 'machine_id'), 'utf8')).trim();
    assert.equal((await stat(path.join(run.sandbox.home, 'machine_id'))).mode & 0o777, 0o600);
    for (const request of server.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, '/batch/');
      assert.match(request.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(postHogBatchProblems(request.body), [], request.rawBody);
      for (const event of request.body.batch) {
        assert.deepEqual(joeyEventProblems(event, machineId), [], JSON.stringify(event));
      }
      // Nothing of the workspace, the task or the key: not in bodies, not in headers.
      const everything = request.rawBody + JSON.stringify(request.headers) + request.path;
      assert.ok(!everything.includes(canary), `the canary leaked: ${everything}`);
      assert.ok(!everything.includes(run.key), 'the provider key leaked into telemetry');
      assert.ok(!everything.includes(run.sandbox.root), 'a local path leaked into telemetry');
    }
    const names = (await allEvents(server)).map((event) => event.event);
    for (const expected of ['task_created', 'tool_used', 'diff_failed', 'task_completed'])
      assert.ok(names.includes(expected), `no ${expected} in ${names}`);
    const completed = (await allEvents(server)).find((event) => event.event === 'task_completed');
    assert.equal(completed.properties.provider, 'openai-compatible');
    assert.equal(completed.properties.model, kModel);
    assert.equal(typeof completed.properties.duration_ms, 'number');

    // `joey telemetry status` shows the last event sent, in full.
    const status = await runJoey(
        ['telemetry', 'status', '--cwd', run.sandbox.workspace],
        {sandbox: run.sandbox, env: telemetryEnv(server)});
    assert.equal(status.code, 0, status.output());
    assert.match(status.stdout, /telemetry: on/);
    assert.ok(status.stdout.includes(`machine id: ${machineId}`), status.stdout);
    const lastUuid = server.batches().at(-1).batch.at(-1).uuid;
    assert.ok(status.stdout.includes(lastUuid), status.stdout);
  });

  const kOffWays = [
    {name: 'JOEY_TELEMETRY=0', env: {JOEY_TELEMETRY: '0', DO_NOT_TRACK: ''}, homeFiles: {}},
    {name: 'DO_NOT_TRACK=1', env: {JOEY_TELEMETRY: '', DO_NOT_TRACK: '1'}, homeFiles: {}},
    {
      name: 'the setting telemetry = false',
      env: {JOEY_TELEMETRY: '', DO_NOT_TRACK: ''},
      homeFiles: {'config.toml': 'telemetry = false\n'},
    },
  ];
  for (const way of kOffWays) {
    test(`off by ${way.name}: no request during a full task and the queue deleted`, async (t) => {
      const server = await startTelemetryServer();
      t.after(() => server.close());
      const queued = JSON.stringify({
        event: 'task_created',
        distinct_id: 'x',
        uuid: '11111111-2222-4333-8444-555555555555',
        timestamp: '2026-01-01T00:00:00Z',
        properties: {mode: 'code'},
      });
      const run = await runTask(t, 'openai', {
        ...canaryTask(canaryFor()),
        homeFiles: {...way.homeFiles, 'telemetry_queue.jsonl': queued + '\n'},
        env: {JOEY_TELEMETRY_HOST: server.url, ...way.env},
      });
      assert.equal(run.result.code, 0, run.result.output());
      assert.equal(server.requests.length, 0, JSON.stringify(server.requests));
      assert.equal(existsSync(path.join(run.sandbox.home, 'telemetry_queue.jsonl')), false);
      assert.equal(existsSync(path.join(run.sandbox.home, 'machine_id')), false);
      assert.ok(!run.result.stderr.includes(kNotice), 'no notice when telemetry is off');
      const status = await runJoey(
          ['telemetry', 'status', '--cwd', run.sandbox.workspace],
          {sandbox: run.sandbox, env: {JOEY_TELEMETRY_HOST: server.url, ...way.env}});
      assert.match(status.stdout, /telemetry: off/, status.output());
    });
  }

  test('joey checkpoints restore sends checkpoint_restored, and nothing when off', async (t) => {
    const server = await startTelemetryServer();
    t.after(() => server.close());
    const run = await runTask(t, 'openai', {
      files: {'a.txt': 'one\n'},
      turns: [
        {tool_calls: [{name: 'write_to_file', arguments: {path: 'a.txt', content: 'two\n', line_count: 1}}]},
        complete('Changed.'),
      ],
      env: {JOEY_TELEMETRY: '0', DO_NOT_TRACK: '', JOEY_TELEMETRY_HOST: server.url},
    });
    assert.equal(run.result.code, 0, run.result.output());
    const taskId = run.events.find((event) => event.type === 'task_started').task_id;
    const restore = (env) => runJoey(
        ['checkpoints', 'restore', taskId, '1', '--cwd', run.sandbox.workspace],
        {sandbox: run.sandbox, env: {JOEY_TELEMETRY_HOST: server.url, ...env}});

    const off = await restore({JOEY_TELEMETRY: '0', DO_NOT_TRACK: ''});
    assert.equal(off.code, 0, off.output());
    assert.equal(server.requests.length, 0, 'telemetry off: no request');

    const on = await restore({JOEY_TELEMETRY: '1', DO_NOT_TRACK: ''});
    assert.equal(on.code, 0, on.output());
    const restored = (await allEvents(server)).filter((event) => event.event === 'checkpoint_restored');
    assert.equal(restored.length, 1, JSON.stringify(server.batches()));
    const machineId = (await readFile(path.join(run.sandbox.home, 'machine_id'), 'utf8')).trim();
    assert.deepEqual(joeyEventProblems(restored[0], machineId), []);
    assert.equal(restored[0].properties.mode, 'code');
  });

  test('an OpenRouter model id ("vendor/model") is kept, a path is not', async (t) => {
    const server = await startTelemetryServer();
    t.after(() => server.close());
    const model = 'anthropic/claude-sonnet-4.5';
    const provider = await startScriptedProvider({turns: [complete()], models: [model]});
    const sandbox = await makeSandbox();
    t.after(async () => {
      await provider.close();
      await sandbox.cleanup();
    });
    const run = await runJoey(
        [
          'run', '--provider', 'openrouter', '--base-url', provider.url + '/v1', '--model', model,
          '--yes', '--output', 'json', '--cwd', sandbox.workspace, 'Say hello'
        ],
        {sandbox, env: {...telemetryEnv(server), OPENROUTER_API_KEY: fakeKey('openai')}});
    assert.equal(run.code, 0, run.output());
    const created = (await allEvents(server)).find((event) => event.event === 'task_created');
    assert.ok(created, JSON.stringify(server.batches()));
    assert.equal(created.properties.model, model);
    assert.equal(created.properties.provider, 'openrouter');
  });

  test('offline: events wait in the queue and the next run sends them', async (t) => {
    const down = await startTelemetryServer();
    await down.close();  // nothing listens on this port any more
    const run = await runTask(t, 'openai', {...canaryTask(canaryFor()), env: telemetryEnv(down)});
    assert.equal(run.result.code, 0, run.result.output());
    const queueFile = path.join(run.sandbox.home, 'telemetry_queue.jsonl');
    assert.ok(existsSync(queueFile), 'the events were not queued');
    assert.equal((await stat(queueFile)).mode & 0o777, 0o600);
    const queued = (await readFile(queueFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(queued.some((event) => event.event === 'task_completed'), JSON.stringify(queued));

    const server = await startTelemetryServer();
    const provider = await startScriptedProvider({turns: [complete()], models: [kModel]});
    t.after(async () => {
      await server.close();
      await provider.close();
    });
    const next = await runJoey(
        [
          'run', ...providerArgs('openai', provider), '--model', kModel, '--yes', '--output',
          'json', '--cwd', run.sandbox.workspace, 'Say hello'
        ],
        {
          sandbox: run.sandbox,
          env: {...telemetryEnv(server), [kKeyVariable.openai]: fakeKey('openai')},
        });
    assert.equal(next.code, 0, next.output());
    assert.ok(!next.stderr.includes(kNotice), 'the notice is shown once per JOEY_HOME');
    const sentUuids = new Set((await allEvents(server)).map((event) => event.uuid));
    for (const event of queued)
      assert.ok(sentUuids.has(event.uuid), `queued ${event.event} not sent`);
    for (const body of server.batches()) assert.deepEqual(postHogBatchProblems(body), []);
    assert.equal(existsSync(queueFile), false, 'the queue is emptied once sent');
  });

  test('joey batches have the shape of the real posthog-node client', async (t) => {
    let PostHog;
    try {
      ({PostHog} = await import('posthog-node'));
    } catch {
      t.skip('posthog-node is not installed (add it to package.json to compare with it)');
      return;
    }
    const server = await startTelemetryServer();
    t.after(() => server.close());
    const client = new PostHog('phc_test', {host: server.url, flushAt: 1, flushInterval: 0});
    client.capture({distinctId: 'reference', event: 'task_created', properties: {mode: 'code'}});
    await client.shutdown();
    const reference = server.batches().find((body) => Array.isArray(body?.batch));
    assert.ok(reference, `posthog-node sent no /batch/ body: ${JSON.stringify(server.requests)}`);
    assert.deepEqual(postHogBatchProblems(reference), []);

    const run = await runTask(t, 'openai', {turns: [complete()], env: telemetryEnv(server)});
    assert.equal(run.result.code, 0, run.result.output());
    const joeyBody = server.batches().filter((body) => body?.api_key !== 'phc_test').at(0);
    assert.ok(joeyBody, 'joey sent no batch');
    const typeOf = (value) =>
        (Array.isArray(value) ? 'array' :
             value === null   ? 'null' :
                                typeof value);
    assert.equal(typeOf(joeyBody.api_key), typeOf(reference.api_key));
    const referenceItem = reference.batch[0];
    for (const [key, value] of Object.entries(joeyBody.batch[0])) {
      assert.ok(key in referenceItem, `posthog-node sends no "${key}" field`);
      assert.equal(typeOf(value), typeOf(referenceItem[key]), `"${key}" has another type`);
    }
  });
});
