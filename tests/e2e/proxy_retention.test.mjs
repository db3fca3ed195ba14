// P6, the proxy keeps no prompt or completion, end to end on both backends: 1,000 proxied
// requests (Chat Completions, Responses and Messages, streaming and not) carry a canary
// prompt, and the scripted provider answers each with a canary completion. Every answer
// reaches its client, every request is metered, and then neither canary is found in:
//   - joeyd's data directory (database, WAL, keys) and, on PostgreSQL, the cluster's files
//     written during the run (tables, WAL, its log);
//   - joeyd's output at debug level (its log);
//   - joeyd's temporary directory, files under the system temporary directories written
//     during the run, and every file joeyd holds open (unlinked temporary files included).
// The scans are checked against a positive control: the run's model name, which the
// proxy does record, is found where the canaries are not.
// And a crash mid-stream writes no core file: joeyd turns core dumps off for itself.

import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdir, mkdtemp, readFile, readdir, readlink, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';

import {fakeKey, filesUnder, sleep, waitFor} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startJoeyd, stopJoeyd} from './joeyd.mjs';
import {createDatabase, postgresMissing, psql} from './postgres.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

const kRequests = 1000;
const kParallel = 20;
const kMaxScanBytes = 256 << 20;  // a file larger than this is not read whole

const word = (prefix) => prefix + randomBytes(9).toString('hex');

// Whether `needle` occurs in `file` (read whole; unreadable files are listed in `skipped`).
async function fileHolds(file, needles, skipped) {
  try {
    const info = await stat(file);
    if (!info.isFile()) return [];
    if (info.size > kMaxScanBytes) {
      skipped.push(`${file} (${info.size} bytes)`);
      return [];
    }
    const bytes = await readFile(file);
    return needles.filter((needle) => bytes.includes(needle));
  } catch (error) {
    if (error.code !== 'ENOENT') skipped.push(`${file} (${error.code})`);
    return [];
  }
}

// Files under `dir` modified at or after `since` (ms), at most `depth` levels down.
async function recentFiles(dir, since, depth) {
  const found = [];
  let entries = [];
  try {
    entries = await readdir(dir, {withFileTypes: true});
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) {
      found.push(...await recentFiles(full, since, depth - 1));
    } else if (entry.isFile()) {
      try {
        if ((await stat(full)).mtimeMs >= since) found.push(full);
      } catch {
        // gone meanwhile
      }
    }
  }
  return found;
}

// Every regular file joeyd holds open, read through /proc (unlinked ones too).
async function openFiles(pid) {
  const fdDir = `/proc/${pid}/fd`;
  const files = [];
  for (const fd of await readdir(fdDir)) {
    const target = await readlink(path.join(fdDir, fd)).catch(() => '');
    if (target.startsWith('/') && !target.startsWith('/dev/')) files.push({fd: path.join(fdDir, fd), target});
  }
  return files;
}

async function scan(files, needles) {
  const hits = [];
  const skipped = [];
  for (const file of files) {
    for (const needle of await fileHolds(file, needles, skipped)) hits.push(`${needle} in ${file}`);
  }
  return {hits, skipped};
}

async function proxiedRequest(server, token, kind, prompt, model) {
  const anthropic = kind.startsWith('anthropic');
  const responses = kind.startsWith('responses');
  const stream = kind.endsWith('stream');
  const route = anthropic ? 'messages' : responses ? 'responses' : 'chat/completions';
  const request = `Please repeat ${prompt} back to me.`;
  const response = await fetch(`${server.url}/proxy/v1/${route}`, {
    method: 'POST',
    headers: anthropic ? {'content-type': 'application/json', 'x-api-key': token, 'anthropic-version': '2023-06-01'} :
                         {'content-type': 'application/json', authorization: `Bearer ${token}`},
    body: JSON.stringify(responses ? {model, stream, instructions: 'Be brief.', input: request} : {
      model: anthropic ? `anthropic/${model}` : model,
      max_tokens: 64,
      stream,
      messages: [{role: 'user', content: request}],
    }),
  });
  return {status: response.status, text: await response.text()};
}

function retentionTest(backend) {
  return async (t) => {
    const promptCanary = word('promptcanary');
    const completionCanary = word('completioncanary');
    const model = word('p6model');
    const turns = Array.from({length: kRequests},
                             () => ({text: `Here it is: ${completionCanary}.`, text_pieces: 1, usage: {input: 9, output: 4}}));
    const provider = await startScriptedProvider({turns, models: [model]});
    t.after(() => provider.close());
    const root = await mkdtemp(path.join(tmpdir(), 'joeyd-p6-e2e-'));
    t.after(() => rm(root, {recursive: true, force: true}));
    const dataDir = path.join(root, 'data');
    const joeydTmp = path.join(root, 'tmp');
    await mkdir(joeydTmp);
    const started = Date.now() - 2_000;
    const args = ['--listen', '127.0.0.1:0', '--data', dataDir, '--upstream-openai', `${provider.url}/v1`,
                  '--upstream-anthropic', `${provider.url}/v1`];
    let database;
    if (backend === 'postgres') {
      database = await createDatabase('joey_p6');
      t.after(() => database.drop());
      args.push('--database', database.url);
    }
    const server = await startJoeyd(args, {
      home: root,
      cwd: root,
      env: {
        TMPDIR: joeydTmp,
        JOEY_LOG: 'debug',
        JOEYD_OPENAI_API_KEY: fakeKey('openai'),
        JOEYD_ANTHROPIC_API_KEY: fakeKey('anthropic'),
      },
    });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await stopJoeyd(server);
    });
    const signup = await api(server, 'POST', '/api/auth/signup',
                             {body: {email: 'ada@example.com', password: 'correct horse battery', name: 'Ada'}});
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    const token = (await api(server, 'POST', '/api/tokens', {body: {name: 'p6'}, cookie: signup.cookie})).body.token;

    const kinds = ['openai-stream', 'openai', 'anthropic-stream', 'anthropic', 'responses-stream', 'responses'];
    let next = 0;
    const failures = [];
    const worker = async () => {
      while (next < kRequests) {
        const index = next++;
        const answer = await proxiedRequest(server, token, kinds[index % kinds.length], promptCanary, model);
        if (answer.status !== 200 || !answer.text.includes(completionCanary)) {
          failures.push(`${kinds[index % kinds.length]} #${index}: ${answer.status} ${answer.text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({length: kParallel}, worker));
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} requests failed`);
    assert.equal(provider.requests.filter((r) => r.method === 'POST').length, kRequests);
    assert.ok(provider.requests.every((r) => JSON.stringify(r.body).includes(promptCanary)),
              'every request carried the prompt canary upstream');
    const usage = await api(server, 'GET', '/api/me/usage', {token});
    assert.equal(usage.body.total.requests, kRequests, JSON.stringify(usage.body.total));

    // While joeyd runs: every file it holds open, unlinked temporary files included.
    const open = await openFiles(server.child.pid);
    if (backend === 'sqlite') {
      assert.ok(open.some((file) => file.target === path.join(dataDir, 'joey.db')),
                `joeyd holds its database open: ${open.map((file) => file.target).join(', ')}`);
    }
    const openScan = await scan(open.map((file) => file.fd), [promptCanary, completionCanary]);
    assert.deepEqual(openScan.hits, [], `open files: ${open.map((file) => file.target).join(', ')}`);

    await stopJoeyd(server);
    stopped = true;
    const needles = [promptCanary, completionCanary, model];
    const dataScan = await scan(await filesUnder(dataDir), needles);
    const tempScan = await scan([
      ...await filesUnder(joeydTmp),
      ...await recentFiles(tmpdir(), started, 1),
      ...(tmpdir() === '/tmp' ? [] : await recentFiles('/tmp', started, 1)),
      ...await recentFiles('/var/tmp', started, 1),
    ], [promptCanary, completionCanary]);
    assert.deepEqual(tempScan.hits, []);
    const log = server.stdout + server.stderr;
    assert.ok(!log.includes(promptCanary) && !log.includes(completionCanary), "a canary is in joeyd's log");

    if (backend === 'sqlite') {
      assert.ok(dataScan.hits.includes(`${model} in ${path.join(dataDir, 'joey.db')}`) ||
                    dataScan.hits.some((hit) => hit.startsWith(`${model} in ${path.join(dataDir, 'joey.db')}`)),
                `the scan finds the recorded model name (positive control): ${dataScan.hits.join('; ')}`);
    } else {
      await psql('CHECKPOINT');
      const clusterDir = await psql('SHOW data_directory');
      const clusterScan = await scan(await recentFiles(clusterDir, started, 3), needles);
      assert.ok(clusterScan.hits.some((hit) => hit.startsWith(`${model} in `)),
                `the cluster scan finds the recorded model name (positive control); skipped: ${clusterScan.skipped.join(', ')}`);
      const leaked = clusterScan.hits.filter((hit) => !hit.startsWith(`${model} in `));
      assert.deepEqual(leaked, [], 'a canary is in PostgreSQL\'s files');
    }
    const leaked = dataScan.hits.filter((hit) => !hit.startsWith(`${model} in `));
    assert.deepEqual(leaked, [], "a canary is in joeyd's data directory");
    assert.deepEqual(dataScan.skipped, []);
  };
}

describe('P6: the proxy keeps no prompt or completion', {skip: joeydMissing}, () => {
  test('1,000 proxied requests on SQLite leave neither canary anywhere', {timeout: 240_000}, retentionTest('sqlite'));
  test('1,000 proxied requests on PostgreSQL leave neither canary anywhere', {skip: postgresMissing, timeout: 240_000},
       retentionTest('postgres'));

  test('a crash mid-stream writes no core file', async (t) => {
    const corePattern = (await readFile('/proc/sys/kernel/core_pattern', 'utf8')).trim();
    const promptCanary = word('promptcanary');
    const provider = await startScriptedProvider(
        {turns: [{text: 'slow answer '.repeat(20), text_pieces: 20, chunk_delay_ms: 500}]});
    t.after(() => provider.close());
    const root = await mkdtemp(path.join(tmpdir(), 'joeyd-core-e2e-'));
    t.after(() => rm(root, {recursive: true, force: true}));
    // The shell allows core files; joeyd must forbid them for itself.
    const server = await startJoeyd(
        ['--listen', '127.0.0.1:0', '--data', path.join(root, 'data'), '--upstream-openai', `${provider.url}/v1`],
        {home: root, cwd: root, shellPrefix: 'ulimit -c unlimited;', env: {JOEYD_OPENAI_API_KEY: fakeKey('openai')}});
    let exited = false;
    t.after(async () => {
      if (!exited) await stopJoeyd(server);
    });
    const limits = await readFile(`/proc/${server.child.pid}/limits`, 'utf8');
    assert.match(limits, /^Max core file size\s+0\s+0\s+bytes/m);

    const signup = await api(server, 'POST', '/api/auth/signup',
                             {body: {email: 'ada@example.com', password: 'correct horse battery', name: 'Ada'}});
    const token = (await api(server, 'POST', '/api/tokens', {body: {name: 'core'}, cookie: signup.cookie})).body.token;
    const response = await fetch(`${server.url}/proxy/v1/chat/completions`, {
      method: 'POST',
      headers: {'content-type': 'application/json', authorization: `Bearer ${token}`},
      body: JSON.stringify({model: 'm', stream: true, messages: [{role: 'user', content: promptCanary}]}),
    });
    assert.equal(response.status, 200);
    const reader = response.body.getReader();
    await reader.read();  // the stream is under way: the prompt is in joeyd's memory
    assert.ok(await waitFor(() => provider.requests.length === 1), 'the request reached the provider');
    server.child.kill('SIGSEGV');
    const result = await server.exited;
    exited = true;
    await reader.cancel().catch(() => {});
    assert.equal(result.signal, 'SIGSEGV');
    await sleep(200);
    const left = await readdir(root);
    assert.deepEqual(left.filter((name) => name.startsWith('core')), [],
                     `core files in joeyd's directory (core_pattern ${corePattern})`);
    assert.ok(!(server.stdout + server.stderr).includes(promptCanary));
  });
});
