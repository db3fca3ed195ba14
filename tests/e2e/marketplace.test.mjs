// The marketplace end to end (issue 9 §4, §5; promise P5): a real joeyd on loopback serves
// a catalog (its built-in one, and an operator's own with --marketplace); `joey
// marketplace search|show|install|remove` use it through a recording forwarder that keeps
// the exact headers joeyd received. Signed in or not, those requests carry no
// Authorization, cookie or machine id. A mode and an MCP server installed with a
// parameter are then used by tasks against the scripted provider; the organization's
// hidden_mcps and hide_marketplace_mcps hide MCP items from a signed-in agent.

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import http from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import {
  complete,
  joeyMissing,
  makeSandbox,
  repoRoot,
  runJoey,
  runTask,
  toolNamesIn,
  toolResultsIn,
} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startJoeyd, stopJoeyd} from './joeyd.mjs';

const everything = path.join(repoRoot, 'node_modules', '.bin', 'mcp-server-everything');
const skip = joeyMissing || joeydMissing || (existsSync(everything) ? false : `${everything} is missing (npm ci)`);

const kModes = `items:
  - id: haiku-writer
    type: mode
    name: Haiku Writer
    description: Answers every request with a haiku about the code.
    author: joey tests
    tags: [poetry]
    content: |
      slug: haiku-writer
      name: Haiku Writer
      roleDefinition: You are joey, and you answer only in haiku about the code in front of you.
      groups: [read]
`;
const kMcps = `items:
  - id: local-everything
    type: mcp
    name: Everything (local)
    description: The MCP reference server, from this machine's node_modules.
    url: https://github.com/modelcontextprotocol/servers
    tags: [testing, reference]
    content: '{"command": "{{server_bin}}", "args": ["stdio"]}'
    parameters:
      - name: Path of mcp-server-everything
        key: server_bin
        placeholder: /usr/local/bin/mcp-server-everything
`;

// An HTTP forwarder to `target` that records every request's method, path and headers.
async function startRecorder(target) {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({method: req.method, path: req.url, headers: {...req.headers}});
    const upstream = http.request(new URL(req.url, target), {method: req.method, headers: req.headers}, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r))};
}

describe('the marketplace', {skip}, () => {
  let root;
  let server;
  let recorder;
  let token;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'joeyd-marketplace-e2e-'));
    const catalog = path.join(root, 'catalog');
    await mkdir(catalog);
    await writeFile(path.join(catalog, 'modes.yaml'), kModes);
    await writeFile(path.join(catalog, 'mcps.yaml'), kMcps);
    server = await startJoeyd(['--listen', '127.0.0.1:0', '--data', path.join(root, 'data'), '--marketplace', catalog],
                              {home: root});
    recorder = await startRecorder(server.url);
    const signup = await api(server, 'POST', '/api/auth/signup',
                             {body: {email: 'ada@example.com', password: 'correct horse battery', name: 'Ada'}});
    token = (await api(server, 'POST', '/api/tokens', {body: {name: 'agent'}, cookie: signup.cookie})).body.token;
  });

  after(async () => {
    if (recorder) await recorder.close();
    if (server) await stopJoeyd(server);
    if (root) await rm(root, {recursive: true, force: true});
  });

  // Signed in through the recorder: JOEY_CLOUD_URL is where the marketplace comes from.
  const signedIn = () => ({JOEY_CLOUD_URL: recorder.url, JOEY_CLOUD_TOKEN: token});

  test('the built-in catalog has at least 15 entries', async (t) => {
    const builtinRoot = await mkdtemp(path.join(tmpdir(), 'joeyd-marketplace-builtin-'));
    t.after(() => rm(builtinRoot, {recursive: true, force: true}));
    const builtin = await startJoeyd(['--listen', '127.0.0.1:0', '--data', path.join(builtinRoot, 'data')], {home: builtinRoot});
    t.after(() => stopJoeyd(builtin));
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const all = await runJoey(['marketplace', 'search', '--cwd', sandbox.workspace], {sandbox, env: {JOEY_CLOUD_URL: builtin.url}});
    assert.equal(all.code, 0, all.output());
    const lines = all.stdout.trim().split('\n');
    assert.ok(lines.length >= 15, all.stdout);
    assert.ok(lines.some((line) => /^filesystem\s+mcp\s+/.test(line)), all.stdout);
    assert.ok(lines.some((line) => /\smode\s/.test(line)), all.stdout);
  });

  test('search, show, install and remove; no request says who asks (P5)', async (t) => {
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    const env = signedIn();
    const before = recorder.seen.length;
    const found = await runJoey(['marketplace', 'search', 'haiku', '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(found.code, 0, found.output());
    assert.match(found.stdout, /^haiku-writer\s+mode\s+Haiku Writer/m);
    assert.doesNotMatch(found.stdout, /local-everything/);
    const shown = await runJoey(['marketplace', 'show', 'local-everything', '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(shown.code, 0, shown.output());
    assert.match(shown.stdout, /--param server_bin=\/usr\/local\/bin\/mcp-server-everything/);

    const missing = await runJoey(['marketplace', 'install', 'local-everything', '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(missing.code, 2, missing.output());
    assert.match(missing.stderr, /missing the parameter 'server_bin'.*--param server_bin=VALUE/);
    const installed = await runJoey(['marketplace', 'install', 'local-everything', '--scope', 'global', '--param',
                                     `server_bin=${everything}`, '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(installed.code, 0, installed.output());
    const mcpJson = JSON.parse(await readFile(path.join(sandbox.home, 'mcp.json'), 'utf8'));
    assert.deepEqual(mcpJson.mcpServers['local-everything'], {command: everything, args: ['stdio']});
    const again = await runJoey(['marketplace', 'install', 'local-everything', '--scope', 'global', '--param',
                                 `server_bin=${everything}`, '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(again.code, 2, again.output());
    assert.match(again.stderr, /--force/);
    const mode = await runJoey(['marketplace', 'install', 'haiku-writer', '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(mode.code, 0, mode.output());
    assert.match(await readFile(path.join(sandbox.workspace, '.joey', 'modes.yaml'), 'utf8'), /slug: haiku-writer/);

    const marketplaceRequests = recorder.seen.slice(before).filter((request) => request.path.startsWith('/api/marketplace/'));
    assert.ok(marketplaceRequests.length >= 5, JSON.stringify(recorder.seen.slice(before)));
    for (const request of marketplaceRequests) {
      const names = Object.keys(request.headers);
      assert.ok(!names.includes('authorization'), `${request.path}: ${names}`);
      assert.ok(!names.includes('cookie'), `${request.path}: ${names}`);
      assert.ok(!JSON.stringify(request.headers).includes(token.slice(-12)), 'the token travelled');
      assert.deepEqual(names.filter((name) => !['host', 'accept', 'user-agent', 'if-none-match', 'accept-encoding', 'connection'].includes(name)), [],
                       `${request.path}: unexpected headers ${names}`);
    }
    // The second fetch of a catalog revalidated with the ETag of the first.
    assert.ok(marketplaceRequests.some((request) => request.headers['if-none-match']));
    // P13: each one is in the egress log, as a marketplace request.
    const egress = (await readFile(path.join(sandbox.home, 'egress.log'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const logged = egress.filter((line) => line.purpose === 'marketplace');
    assert.equal(logged.length, marketplaceRequests.length, JSON.stringify(egress));

    const removed = await runJoey(['marketplace', 'remove', 'haiku-writer', '--cwd', sandbox.workspace], {sandbox, env});
    assert.equal(removed.code, 0, removed.output());
    assert.doesNotMatch(await readFile(path.join(sandbox.workspace, '.joey', 'modes.yaml'), 'utf8'), /haiku-writer/);
  });

  test('an installed mode and MCP server are used by tasks', async (t) => {
    // Installed exactly as a user would, then handed to tasks as the files install wrote.
    const sandbox = await makeSandbox();
    t.after(() => sandbox.cleanup());
    for (const args of [['haiku-writer'], ['local-everything', '--scope', 'global', '--param', `server_bin=${everything}`]]) {
      const installed = await runJoey(['marketplace', 'install', ...args, '--cwd', sandbox.workspace], {sandbox, env: signedIn()});
      assert.equal(installed.code, 0, installed.output());
    }
    const modes = await readFile(path.join(sandbox.workspace, '.joey', 'modes.yaml'), 'utf8');
    const withMode = await runTask(t, 'openai', {
      turns: [complete('Code sleeps in the night.')],
      extraArgs: ['--mode', 'haiku-writer'],
      files: {'.joey/modes.yaml': modes},
    });
    assert.equal(withMode.result.code, 0, withMode.result.output());
    assert.match(JSON.stringify(withMode.requests[0].body.messages[0]), /answer only in haiku/);

    const written = await readFile(path.join(sandbox.home, 'mcp.json'), 'utf8');
    const run = await runTask(t, 'openai', {
      homeFiles: {'mcp.json': written},
      turns: [{tool_calls: [{name: 'mcp--local-everything--echo', arguments: {message: 'from the marketplace'}}]}, complete()],
      timeoutMs: 60_000,
    });
    assert.equal(run.result.code, 0, run.result.output());
    assert.ok(toolNamesIn('openai', run.requests[0]).includes('mcp--local-everything--echo'));
    assert.match(toolResultsIn('openai', run.requests[1]).at(-1).content, /Echo: from the marketplace/);
  });

  test('the organization hides MCP items from its signed-in members', async (t) => {
    const org = await api(server, 'POST', '/api/orgs', {body: {name: 'Acme'}, token});
    assert.equal(org.status, 201, JSON.stringify(org.body));
    const orgId = org.body.id ?? org.body.organization?.id;
    const current = await api(server, 'GET', `/api/orgs/${orgId}/settings`, {token});
    const patched = await api(server, 'PATCH', `/api/orgs/${orgId}/settings`,
                              {body: {version: current.body.version, hidden_mcps: ['local-everything']}, token});
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    // The agent learns the organization's settings with its other Cloud settings, when a
    // run starts (client/cloud_settings.h); the marketplace uses what it learnt.
    const first = await runTask(t, 'openai', {turns: [complete()], env: signedIn()});
    assert.equal(first.result.code, 0, first.result.output());
    const {sandbox} = first;
    const hidden = await runJoey(['marketplace', 'search', '--type', 'mcp', '--cwd', sandbox.workspace], {sandbox, env: signedIn()});
    assert.equal(hidden.code, 0, hidden.output());
    assert.doesNotMatch(hidden.stdout, /local-everything/);
    const signedOut = await runJoey(['marketplace', 'search', '--type', 'mcp', '--cwd', sandbox.workspace],
                                    {sandbox, env: {JOEY_CLOUD_URL: recorder.url}});
    assert.match(signedOut.stdout, /^local-everything\s+mcp/m);
  });
});
