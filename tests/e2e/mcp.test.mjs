// MCP servers in a task, end to end (issue 9 §2, §3): the real npm server-everything over
// stdio, configured in $JOEY_HOME/mcp.json, offers its tools as mcp--everything--TOOL; the
// scripted model calls one and gets its result back; the server never sees the provider
// key (P2); calls need approval unless --yes or the server's alwaysAllow; a workspace's
// own servers stay off until `joey mcp trust`. A server that changes its tools mid-task
// (notifications/tools/list_changed; tests/mcp/data/fake_mcp_server.js) has them
// offered from the next model request on.

import assert from 'node:assert/strict';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {describe, test} from 'node:test';

import {
  complete,
  eventsOfType,
  joeyMissing,
  kProtocols,
  repoRoot,
  runJoey,
  runTask,
  toolNamesIn,
  toolResultsIn,
} from './helpers.mjs';

const everything = path.join(repoRoot, 'node_modules', '.bin', 'mcp-server-everything');
const missing = joeyMissing || (existsSync(everything) ? false : `${everything} is not installed (npm ci)`);

const mcpJson = (server = {}) => JSON.stringify({mcpServers: {everything: {command: everything, args: ['stdio'], ...server}}});

describe('MCP tools in a task', {skip: missing}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: the model calls an MCP tool and reads its result; the server never sees the key`, async (t) => {
      const run = await runTask(t, protocol, {
        homeFiles: {'mcp.json': mcpJson()},
        turns: [
          {tool_calls: [{name: 'mcp--everything--echo', arguments: {message: 'hello from the model'}}]},
          {tool_calls: [{name: 'mcp--everything--get-env', arguments: {}}]},
          complete('Echoed.'),
        ],
        task: 'Echo a greeting through the MCP server',
        timeoutMs: 60_000,
      });
      assert.equal(run.result.code, 0, run.result.output());
      const offered = toolNamesIn(protocol, run.requests[0]);
      assert.ok(offered.includes('mcp--everything--echo'), offered.join(', '));
      assert.ok(offered.includes('access_mcp_resource'), offered.join(', '));
      const echoed = toolResultsIn(protocol, run.requests[1]).at(-1);
      assert.match(echoed.content, /Echo: hello from the model/);
      const environment = toolResultsIn(protocol, run.requests[2]).at(-1).content;
      assert.match(environment, /PATH/, 'get-env answered with the server\'s environment');
      assert.ok(!environment.includes(run.key), 'the MCP server saw the provider key');
      const calls = eventsOfType(run.events, 'tool_call').map((event) => event.name).filter((name) => name.startsWith('mcp--'));
      assert.deepEqual(calls, ['mcp--everything--echo', 'mcp--everything--get-env']);
    });
  }

  test('without --yes an MCP call stops for a decision, unless the tool is always allowed', async (t) => {
    const asked = await runTask(t, 'openai', {
      homeFiles: {'mcp.json': mcpJson()},
      yes: false,
      turns: [{tool_calls: [{name: 'mcp--everything--echo', arguments: {message: 'hi'}}]}, complete()],
      timeoutMs: 60_000,
    });
    assert.equal(asked.result.code, 3, asked.result.output());
    const approval = eventsOfType(asked.events, 'approval_required')[0];
    assert.equal(approval.kind, 'mcp');
    assert.match(approval.description, /call the MCP tool everything → echo with \{"message":"hi"\}/);

    const allowed = await runTask(t, 'openai', {
      homeFiles: {'mcp.json': mcpJson({alwaysAllow: ['echo']})},
      yes: false,
      turns: [{tool_calls: [{name: 'mcp--everything--echo', arguments: {message: 'hi'}}]}, complete()],
      timeoutMs: 60_000,
    });
    assert.equal(allowed.result.code, 0, allowed.result.output());
    assert.match(toolResultsIn('openai', allowed.requests[1]).at(-1).content, /Echo: hi/);
  });

  test('a workspace\'s own server starts only after joey mcp trust', async (t) => {
    const first = await runTask(t, 'openai', {
      files: {'.joey/mcp.json': mcpJson()},
      turns: [complete()],
      timeoutMs: 60_000,
    });
    assert.equal(first.result.code, 0, first.result.output());
    assert.ok(!toolNamesIn('openai', first.requests[0]).some((name) => name.startsWith('mcp--')));
    assert.match(first.result.stderr, /this workspace's MCP servers \(everything\) are off until you trust them/);

    const {sandbox} = first;
    const trust = await runJoey(['mcp', 'trust', '--yes', '--cwd', sandbox.workspace], {sandbox});
    assert.equal(trust.code, 0, trust.output());
    assert.match(trust.stdout, /everything\s+.*mcp-server-everything stdio/);
    const list = await runJoey(['mcp', 'list', '--cwd', sandbox.workspace], {sandbox});
    assert.match(list.stdout, /^everything\s+project\s+stdio\s+enabled/m);

    // A change to what the workspace's file runs needs trusting again.
    await mkdir(path.join(sandbox.workspace, '.joey'), {recursive: true});
    await writeFile(path.join(sandbox.workspace, '.joey', 'mcp.json'), mcpJson({args: ['stdio', '--extra']}));
    const changed = await runJoey(['mcp', 'list', '--cwd', sandbox.workspace], {sandbox});
    assert.match(changed.stdout, /^everything\s+project\s+stdio\s+untrusted/m);
  });
});

const fakeServer = path.join(repoRoot, 'tests', 'mcp', 'data', 'fake_mcp_server.js');

describe('MCP tools that change mid-task', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: a tool the server adds after a call is offered in the next request`, async (t) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'joey-e2e-mcp-tools-'));
      t.after(() => rm(dir, {recursive: true, force: true}));
      const toolsFile = path.join(dir, 'tools.txt');
      await writeFile(toolsFile, 'change\nalpha\n');
      const dynamic = {command: process.execPath, args: [fakeServer, 'dynamic', toolsFile]};
      const run = await runTask(t, protocol, {
        homeFiles: {'mcp.json': JSON.stringify({mcpServers: {dyn: dynamic}})},
        turns: [
          {tool_calls: [{name: 'mcp--dyn--change', arguments: {add: 'fresh', remove: 'alpha'}}]},
          {tool_calls: [{name: 'mcp--dyn--fresh', arguments: {}}]},
          complete('Used the new tool.'),
        ],
        task: 'Use the tool the MCP server adds',
        timeoutMs: 60_000,
      });
      assert.equal(run.result.code, 0, run.result.output());
      const first = toolNamesIn(protocol, run.requests[0]);
      assert.ok(first.includes('mcp--dyn--alpha'), first.join(', '));
      assert.ok(!first.includes('mcp--dyn--fresh'), first.join(', '));
      const second = toolNamesIn(protocol, run.requests[1]);
      assert.ok(second.includes('mcp--dyn--fresh'), second.join(', '));
      assert.ok(!second.includes('mcp--dyn--alpha'), second.join(', '));
      assert.ok(second.includes('access_mcp_resource'), second.join(', '));
      assert.match(toolResultsIn(protocol, run.requests[2]).at(-1).content, /called fresh/);
    });
  }
});
