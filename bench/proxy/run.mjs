// The model proxy benchmark (issue 8): the latency joeyd's proxy adds over talking to the
// upstream directly, next to what nginx `proxy_pass` (the floor) and the Portkey gateway
// (the peer) add, all in one run; and joeyd's resident memory per idle open stream.
//
//   node bench/proxy/run.mjs [BUILD_DIR]      (bench/proxy/run.sh installs Portkey first)
//
// Needs BUILD_DIR/bin/joeyd and BUILD_DIR/bench/proxy_load (BUILD_DIR defaults to
// build/release), Debian's nginx, taskset, and bench/proxy/node_modules (npm ci).
// Knobs: PROXY_BENCH_SECONDS (10 per point), PROXY_BENCH_WARMUP (2), PROXY_BENCH_RATE
// (open-loop rates, "5000,1000"), PROXY_BENCH_CONNECTIONS ("1,64,1000"), PROXY_BENCH_STREAMS (1000 held open),
// PROXY_BENCH_PORTKEY=0 to leave Portkey out, PROXY_BENCH_MAX_REQUESTS (per point, for
// quick trials), PROXY_BENCH_ROUNDS (3 interleaved rounds per open-loop point). Everything listens on 127.0.0.1, every
// point is bounded in time, and the temporary directory is removed at the end.
//
// Placement on 2 cores: the load client alone on CPU 0; the upstream and the proxy under
// test share CPU 1 (each proxy runs one worker: nginx worker_processes 1, joeyd --threads
// 1, node is single-threaded). The instrument is never starved by what it measures, and
// every path — direct included — has the same server-side core.

import {spawn, spawnSync} from 'node:child_process';
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {cpus, loadavg, tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {cannedCompletion, cannedStream, chatRequest, firstStreamChunk} from './canned.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const buildDir = path.resolve(process.argv[2] ?? path.join(repoRoot, 'build/release'));
const joeydBin = path.join(buildDir, 'bin/joeyd');
const loadBin = path.join(buildDir, 'bench/proxy_load');
const portkeyStart = path.join(here, 'node_modules/@portkey-ai/gateway/build/start-server.js');

const kSeconds = Number(process.env.PROXY_BENCH_SECONDS ?? 10);
const kWarmup = Number(process.env.PROXY_BENCH_WARMUP ?? 2);
const kRates = (process.env.PROXY_BENCH_RATE ?? '5000,1000').split(',').map(Number);
const kConnections = (process.env.PROXY_BENCH_CONNECTIONS ?? '1,64,1000').split(',').map(Number);
const kStreams = Number(process.env.PROXY_BENCH_STREAMS ?? 1000);
const kWithPortkey = process.env.PROXY_BENCH_PORTKEY !== '0';
const kMaxRequests = Number(process.env.PROXY_BENCH_MAX_REQUESTS ?? 2_000_000);  // per point
// Open-loop points run this many rounds, the paths interleaved, and each path reports its
// round with the median p99: one stall of the machine lands in one path's window, and a
// single round would charge it to that path alone (run L: the direct path's p99 2.0 ms
// against nginx's 0.4 ms, so nginx "added" -1.5 ms).
const kOpenLoopRounds = Math.max(1, Number(process.env.PROXY_BENCH_ROUNDS ?? 3));
const kClientCpu = '0';
const kServerCpu = '1';
const kFakeKey = 'sk-bench-0000000000000000000000000000000000000000';
const kMarker = 'joey-bench-canned-answer';

for (const [file, hint] of [[joeydBin, 'ninja -C BUILD_DIR joeyd'], [loadBin, 'ninja -C BUILD_DIR proxy_load']]) {
  if (!existsSync(file)) fail(`${file} not found; build it: ${hint}`);
}
if (spawnSync('nginx', ['-v']).error) fail('nginx not found; run scripts/setup.sh (Debian package nginx)');
if (kWithPortkey && !existsSync(portkeyStart)) fail('Portkey is not installed; run bench/proxy/run.sh (npm ci)');

const tmp = mkdtempSync(path.join(tmpdir(), 'joey-proxy-bench-'));
const children = [];
let cleaned = false;

function fail(message) {
  console.error(`proxy bench: ${message}`);
  process.exit(1);
}

// A process and all its descendants (nginx's workers outlive a killed master).
function processTree(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone already
  }
  return [pid, ...kids.flatMap(processTree)];
}

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    for (const pid of processTree(child.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  rmSync(tmp, {recursive: true, force: true});
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts a long-running server pinned to `cpu`, its output to a file (never a pipe: this
// process blocks in spawnSync while a point runs, and a full pipe would stall the server).
function startServer(name, cpu, command, args, env = {}) {
  const log = path.join(tmp, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn('taskset', ['-c', cpu, command, ...args], {
    env: {...process.env, ...env},
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  Object.defineProperty(child, 'output', {get: () => readFileSync(log, 'utf8').slice(0, 1 << 16)});
  children.push(child);
  return child;
}

async function waitForPort(port, child, name) {
  for (let attempt = 0; attempt < 150; ++attempt) {
    if (child.exitCode !== null) fail(`${name} exited: ${child.output}`);
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  fail(`${name} did not listen on ${port} within 15 s: ${child.output}`);
}

// nginx under its own prefix: `daemon off`, one worker, logs and temp files in DIR.
function nginxConfig(dir, httpBody) {
  mkdirSync(dir, {recursive: true});
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 10000; multi_accept on; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBody}
}
`;
}

function nginxQuote(text) {
  if (/[$']/.test(text)) fail('a canned body holds $ or a quote');
  return `'${text.replace(/\\/g, '\\\\')}'`;
}

// `return 200 BODY;` for a body of any size: nginx takes at most 4 KiB per parameter, so
// longer bodies are set in pieces and joined.
function nginxReturn(text) {
  const pieces = [];
  for (let at = 0; at < text.length; at += 3000) pieces.push(text.slice(at, at + 3000));
  if (pieces.length === 1) return `return 200 ${nginxQuote(text)};`;
  return pieces.map((piece, i) => `set $canned${i} ${nginxQuote(piece)}; `).join('') +
         `return 200 "${pieces.map((_, i) => `$canned${i}`).join('')}";`;
}

async function startNginx(name, httpBody, ports) {
  const dir = path.join(tmp, name);
  const config = path.join(dir, 'nginx.conf');
  mkdirSync(dir, {recursive: true});
  writeFileSync(config, nginxConfig(dir, httpBody));
  const child = startServer(name, kServerCpu, 'nginx', ['-p', dir, '-c', config, '-e', path.join(dir, 'error.log')]);
  for (const port of ports) await waitForPort(port, child, name);
  child.dir = dir;
  return child;
}

function nginxWorkerPid(master) {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

async function startJoeyd(name, upstreamPort, preload = null) {
  const data = path.join(tmp, name);
  const child = startServer(name, kServerCpu, joeydBin,
                            ['serve', '--data', data, '--listen', '127.0.0.1:0', '--threads', '1',
                             '--upstream-openai', `http://127.0.0.1:${upstreamPort}/v1`],
                            {HOME: tmp, JOEYD_OPENAI_API_KEY: kFakeKey, ...(preload ? {LD_PRELOAD: preload} : {})});
  for (let attempt = 0; attempt < 150 && !/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(child.output); ++attempt) {
    if (child.exitCode !== null) fail(`${name} exited: ${child.output}`);
    await sleep(100);
  }
  const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(child.output);
  if (!match) fail(`${name} did not report its address: ${child.output}`);
  child.url = match[1];
  child.port = Number(match[2]);
  // A user signed up through the API, and a token for the proxy.
  const signup = await fetch(`${child.url}/api/auth/signup`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({email: `bench-${name}@example.com`, password: 'correct horse battery', name: 'Bench'}),
  });
  if (signup.status !== 201) fail(`${name}: signup answered ${signup.status}: ${await signup.text()}`);
  const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0];
  const created = await fetch(`${child.url}/api/tokens`, {
    method: 'POST',
    headers: {'content-type': 'application/json', cookie},
    body: JSON.stringify({name: 'bench'}),
  });
  if (created.status !== 201) fail(`${name}: token answered ${created.status}: ${await created.text()}`);
  child.token = (await created.json()).token;
  return child;
}

// One point: proxy_load pinned to the client core. Returns the parsed key=value line.
function measure(target, {connections, rate = 0, stream}) {
  const args = ['--port', String(target.port), '--path', target.path, '--body-file',
                stream ? streamBodyFile : jsonBodyFile, '--connections', String(connections),
                '--seconds', String(kSeconds), '--warmup', String(kWarmup), '--timeout-ms', '10000',
                '--expect', stream ? '[DONE]' : kMarker, '--max-requests', String(kMaxRequests)];
  if (rate) args.push('--rate', String(rate));
  for (const header of target.headers) args.push('--header', header);
  const pids = target.pids.filter((pid) => pid !== null);
  for (const pid of pids) args.push('--cpu-pid', String(pid));
  const run = spawnSync('taskset', ['-c', kClientCpu, loadBin, ...args],
                        {encoding: 'utf8', timeout: (kSeconds + kWarmup + 30) * 1000});
  const line = (run.stdout ?? '').trim();
  const result = {raw: line, failed: run.status !== 0};
  for (const pair of line.split(/\s+/)) {
    const [key, value] = pair.split('=');
    if (value !== undefined) result[key] = Number(value);
  }
  if (run.status !== 0) result.stderr = run.stderr;
  const cpuOf = (pid) => {
    const i = pids.indexOf(pid);
    const user = result[`pid${i}_user_us`];
    if (i < 0 || user === undefined) return null;
    const system = result[`pid${i}_sys_us`];
    // Open loop: the total only (see the note under the table).
    return rate ? `${(user + system).toFixed(1)}` : `${user.toFixed(1)} + ${system.toFixed(1)}`;
  };
  result.cpu = {proxy: target.pids[0] === null ? null : cpuOf(target.pids[0]), upstream: cpuOf(target.pids[1])};
  return result;
}

// ---- set-up ----------------------------------------------------------------------------

const jsonBodyFile = path.join(tmp, 'chat.json');
const streamBodyFile = path.join(tmp, 'chat_stream.json');
writeFileSync(jsonBodyFile, JSON.stringify(chatRequest(false)));
writeFileSync(streamBodyFile, JSON.stringify(chatRequest(true)));

const [upJson, upSse, ngxJson, ngxSse, ngxHold, portkeyPort, holdPort] =
    await Promise.all(Array.from({length: 7}, freePort));

const upstream = await startNginx('upstream', `
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${upJson} backlog=4096;
    location / { default_type application/json; ${nginxReturn(cannedCompletion(kMarker))} }
  }
  server {
    listen 127.0.0.1:${upSse} backlog=4096;
    location / { default_type text/event-stream; ${nginxReturn(cannedStream(kMarker))} }
  }`, [upJson, upSse]);

// The hold stub (for memory per idle stream): headers and one event, then silence.
const holdStub = startServer('hold-stub', kServerCpu, process.execPath, [path.join(here, 'hold_upstream.mjs'), String(holdPort)]);
await waitForPort(holdPort, holdStub, 'hold-stub');

const proxyLocation = (pool, buffering) => `location / {
      proxy_pass http://${pool};
      proxy_http_version 1.1;
      proxy_set_header Connection "";${buffering ? '' : '\n      proxy_buffering off;'}
    }`;
const nginxProxy = await startNginx('nginx-proxy', `
  access_log ${tmp}/nginx-proxy/access.log;
  upstream up_json { server 127.0.0.1:${upJson}; keepalive 1024; }
  upstream up_sse { server 127.0.0.1:${upSse}; keepalive 1024; }
  upstream up_hold { server 127.0.0.1:${holdPort}; keepalive 1024; }
  proxy_read_timeout 120s;
  server { listen 127.0.0.1:${ngxJson} backlog=4096; ${proxyLocation('up_json', true)} }
  server { listen 127.0.0.1:${ngxSse} backlog=4096; ${proxyLocation('up_sse', false)} }
  server { listen 127.0.0.1:${ngxHold} backlog=4096; ${proxyLocation('up_hold', false)} }`,
                                   [ngxJson, ngxSse, ngxHold]);

// One joeyd per upstream (nginx's `return` cannot look at "stream" in the body).
const joeydJson = await startJoeyd('joeyd-json', upJson);
const joeydSse = await startJoeyd('joeyd-sse', upSse);

// Diagnostic, not a result: the same joeyd with TCP_NODELAY set on its accepted sockets by
// a preloaded shim (nodelay_preload.c), to show what Nagle's algorithm costs it.
let nodelayJson = null;
let nodelaySse = null;
const shim = path.join(tmp, 'nodelay_preload.so');
if (process.env.PROXY_BENCH_NODELAY !== '0' &&
    spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', shim, path.join(here, 'nodelay_preload.c'), '-ldl']).status === 0) {
  nodelayJson = await startJoeyd('joeyd-nodelay-json', upJson, shim);
  nodelaySse = await startJoeyd('joeyd-nodelay-sse', upSse, shim);
}

let portkey = null;
if (kWithPortkey) {
  portkey = startServer('portkey', kServerCpu, process.execPath,
                        ['--import', path.join(here, 'loopback.mjs'), portkeyStart, `--port=${portkeyPort}`, '--headless'],
                        {NODE_ENV: 'production'});
  await waitForPort(portkeyPort, portkey, 'portkey');
}
const portkeyConfig = JSON.stringify({provider: 'openai', api_key: kFakeKey, custom_host: `http://127.0.0.1:${upJson}/v1`});

const kPath = '/v1/chat/completions';
// `pids`: the proxy's process (null for direct) and the upstream's worker, whose CPU time
// per answer proxy_load reports (--cpu-pid).
const upstreamWorker = nginxWorkerPid(upstream.pid);
const proxyWorker = nginxWorkerPid(nginxProxy.pid);
const paths = (stream) => [
  {name: 'direct', port: stream ? upSse : upJson, path: kPath, headers: [`Authorization: Bearer ${kFakeKey}`],
   pids: [null, upstreamWorker]},
  {name: 'nginx', port: stream ? ngxSse : ngxJson, path: kPath, headers: [`Authorization: Bearer ${kFakeKey}`],
   pids: [proxyWorker, upstreamWorker]},
  {name: 'joeyd', port: stream ? joeydSse.port : joeydJson.port, path: `/proxy${kPath}`,
   headers: [`Authorization: Bearer ${stream ? joeydSse.token : joeydJson.token}`],
   pids: [(stream ? joeydSse : joeydJson).pid, upstreamWorker]},
  ...(nodelayJson ? [{name: 'joeyd_nd', port: stream ? nodelaySse.port : nodelayJson.port, path: `/proxy${kPath}`,
                      headers: [`Authorization: Bearer ${stream ? nodelaySse.token : nodelayJson.token}`],
                      pids: [(stream ? nodelaySse : nodelayJson).pid, upstreamWorker]}] : []),
  ...(portkey && !stream ? [{name: 'portkey', port: portkeyPort, path: kPath, headers: [`x-portkey-config: ${portkeyConfig}`],
                             pids: [portkey.pid, upstreamWorker]}] : []),
];

// ---- the points ------------------------------------------------------------------------

const started = new Date();
console.log(`proxy bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ` +
            `${started.toISOString().slice(0, 16)}Z, ${kSeconds} s per point after ${kWarmup} s warm-up`);
console.log(`placement: load client on CPU ${kClientCpu}; upstream nginx and the proxy under test on CPU ${kServerCpu}`);

const scenarios = [];
for (const stream of [false, true]) {
  for (const connections of kConnections) {
    scenarios.push({label: `${stream ? 'stream' : 'json'}, ${connections} conn`, stream, connections});
  }
}
for (const rate of kRates) {
  scenarios.push({label: `json, open loop ${rate}/s`, stream: false, connections: 1000, rate});
}

// The round whose p99 is the median of a path's usable rounds (the first round when none
// is usable).
function medianRound(results) {
  const usable = results.filter((r) => !r.failed && r.ok).sort((a, b) => a.ttlb_p99 - b.ttlb_p99);
  return usable.length ? usable[Math.floor((usable.length - 1) / 2)] : results[0];
}

const rows = [];
for (const scenario of scenarios) {
  const row = {scenario, results: {}};
  const rounds = {};
  const roundCount = scenario.rate ? kOpenLoopRounds : 1;
  for (let round = 0; round < roundCount; ++round) {
    for (const target of paths(scenario.stream)) {
      // Portkey cannot hold the open-loop rates at all; one round says so.
      if (round > 0 && target.name === 'portkey') continue;
      const result = measure(target, scenario);
      (rounds[target.name] ??= []).push(result);
      const label = roundCount > 1 ? `${scenario.label} #${round + 1}` : scenario.label;
      console.log(`  ${label.padEnd(26)} ${target.name.padEnd(8)} ${result.raw || '(no result) ' + (result.stderr ?? '')}`);
    }
  }
  for (const [name, results] of Object.entries(rounds)) row.results[name] = medianRound(results);
  rows.push(row);
}

// ---- Portkey and streams (DESIGN §6): one streaming request, to record what happens ------
let portkeyStream = 'not tried';
if (portkey) {
  try {
    const answer = await fetch(`http://127.0.0.1:${portkeyPort}${kPath}`, {
      method: 'POST',
      headers: {'content-type': 'application/json',
                'x-portkey-config': JSON.stringify({provider: 'openai', api_key: kFakeKey, custom_host: `http://127.0.0.1:${upSse}/v1`})},
      body: readFileSync(streamBodyFile),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await answer.text();
    portkeyStream = `status ${answer.status}, ${text.includes('[DONE]') ? 'complete stream' : `no [DONE]: ${text.slice(0, 160).replace(/\s+/g, ' ')}`}`;
  } catch (error) {
    portkeyStream = `failed: ${error.message}`;
  }
}

// ---- cross-check with wrk ---------------------------------------------------------------
// The same JSON point at 64 connections measured by wrk (closed loop, --latency), to show
// that proxy_load's figures are not an artefact of the client.
const wrkLines = [];
if (process.env.PROXY_BENCH_WRK !== '0' && !spawnSync('wrk', ['--version']).error) {
  for (const target of paths(false).filter((t) => t.name !== 'portkey' && t.name !== 'joeyd_nd')) {
    const run = spawnSync('taskset', ['-c', kClientCpu, 'wrk', '-t1', '-c64', `-d${Math.max(1, Math.round(kSeconds))}s`, '--latency',
                                      '-s', path.join(here, 'post.lua'), `http://127.0.0.1:${target.port}${target.path}`],
                          {encoding: 'utf8', timeout: (kSeconds + 30) * 1000,
                           env: {...process.env, PROXY_BENCH_BODY: jsonBodyFile, PROXY_BENCH_AUTH: target.headers[0] ?? ''}});
    const p50 = /^\s+50%\s+(\S+)/m.exec(run.stdout ?? '')?.[1] ?? 'n/a';
    const p99 = /^\s+99%\s+(\S+)/m.exec(run.stdout ?? '')?.[1] ?? 'n/a';
    const rate = /Requests\/sec:\s+(\S+)/.exec(run.stdout ?? '')?.[1] ?? 'n/a';
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(run.stdout ?? '')?.[1] ?? '0';
    wrkLines.push(`${target.name} p50 ${p50} p99 ${p99}, ${rate} req/s, non-2xx ${non2xx}`);
  }
}

// ---- memory per idle open stream -------------------------------------------------------

const joeydHold = await startJoeyd('joeyd-hold', holdPort);
const holdBody = streamBodyFile;
function hold(port, pathName, headers, pids, count) {
  const args = ['--hold', String(count), '--port', String(port), '--path', pathName, '--body-file', holdBody,
                '--timeout-ms', '30000', ...pids.flatMap((pid) => ['--rss-pid', String(pid)])];
  for (const header of headers) args.push('--header', header);
  const run = spawnSync('taskset', ['-c', kClientCpu, loadBin, ...args], {encoding: 'utf8', timeout: 60_000});
  return (run.stdout ?? '').trim() || `(no result) ${run.stderr}`;
}
const joeydHeaders = [`Authorization: Bearer ${joeydHold.token}`];
hold(joeydHold.port, `/proxy${kPath}`, joeydHeaders, [joeydHold.pid], 10);  // warm-up: first-use allocations
const joeydMemory = hold(joeydHold.port, `/proxy${kPath}`, joeydHeaders, [joeydHold.pid], kStreams);
hold(ngxHold, kPath, [], [proxyWorker], 10);
const nginxMemory = hold(ngxHold, kPath, [], [proxyWorker], kStreams);
console.log(`  memory, ${kStreams} idle streams  joeyd    ${joeydMemory}`);
console.log(`  memory, ${kStreams} idle streams  nginx    ${nginxMemory}`);

// ---- the table -------------------------------------------------------------------------

const ms = (us) => (us / 1000).toFixed(us < 10_000 ? 3 : 1);
const cell = (result, key) => (result && !result.failed && result.ok ? ms(result[key]) : 'n/a');
function added(result, direct, key) {
  if (!result || result.failed || !result.ok || !direct || !direct.ok) return null;
  return result[key] - direct[key];
}
const fmtAdded = (value) => (value === null ? 'n/a' : ms(value));
// A ratio to an added latency below 0.2 ms (within this machine's noise) means nothing.
const ratio = (a, b) => (a === null || b === null || b < 200 || a < 0 ? '—' : `${(a / b).toFixed(1)}x`);
const flag = (result) => (!result ? '' : `${result.errors ? ` ${result.errors} err` : ''}${result.saturated ? ' SAT' : ''}`);

console.log('\n== added latency (ms): proxied minus direct at the same percentile, time to last byte' +
            (kOpenLoopRounds > 1 ? `; open-loop points: each path's round with the median p99 of ${kOpenLoopRounds}` : ''));
const header = ['scenario', 'direct p50', 'direct p99', 'nginx +p50', 'nginx +p99', 'joeyd +p50', 'joeyd +p99',
                'Portkey +p50', 'Portkey +p99', 'joeyd/nginx p50', 'joeyd/nginx p99', 'Portkey/joeyd p50', 'Portkey/joeyd p99',
                'joeyd† +p50', 'joeyd† +p99', 'joeyd†/nginx p99', 'Portkey/joeyd† p50'];
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const {scenario, results} of rows) {
  const direct = results.direct;
  const a = {};
  for (const name of ['nginx', 'joeyd', 'portkey', 'joeyd_nd']) {
    a[name] = {p50: added(results[name], direct, 'ttlb_p50'), p99: added(results[name], direct, 'ttlb_p99')};
  }
  console.log(`| ${[scenario.label, cell(direct, 'ttlb_p50') + flag(direct), cell(direct, 'ttlb_p99'),
                    fmtAdded(a.nginx.p50) + flag(results.nginx), fmtAdded(a.nginx.p99),
                    fmtAdded(a.joeyd.p50) + flag(results.joeyd), fmtAdded(a.joeyd.p99),
                    fmtAdded(a.portkey.p50) + flag(results.portkey), fmtAdded(a.portkey.p99),
                    ratio(a.joeyd.p50, a.nginx.p50), ratio(a.joeyd.p99, a.nginx.p99),
                    ratio(a.portkey.p50, a.joeyd.p50), ratio(a.portkey.p99, a.joeyd.p99),
                    fmtAdded(a.joeyd_nd.p50) + flag(results.joeyd_nd), fmtAdded(a.joeyd_nd.p99),
                    ratio(a.joeyd_nd.p99, a.nginx.p99), ratio(a.portkey.p50, a.joeyd_nd.p50)].join(' | ')} |`);
}
console.log('\n== throughput (ok answers/s) and, for streams, time to first byte p50/p99 (ms)');
for (const {scenario, results} of rows) {
  const parts = Object.entries(results).map(([name, r]) =>
    `${name} ${r.ok ? Math.round(r.rate) : 'n/a'}/s${scenario.stream && r.ok ? ` ttfb ${ms(r.ttfb_p50)}/${ms(r.ttfb_p99)}` : ''}${flag(r)}`);
  console.log(`  ${scenario.label.padEnd(26)} ${parts.join('; ')}`);
}
console.log('\n== CPU per answer (µs, user + system; open loop: the total) in the recorded window: the proxy process (all threads); the upstream nginx worker');
for (const {scenario, results} of rows) {
  const parts = Object.entries(results).map(([name, r]) =>
    `${name} ${name === 'direct' ? '' : `${r.cpu?.proxy ?? 'n/a'}, `}up ${r.cpu?.upstream ?? 'n/a'}`);
  console.log(`  ${scenario.label.padEnd(26)} ${parts.join(' | ')}`);
}
console.log('  (The kernel counts a process\'s CPU time exactly but splits it between user and system by sampling at its\n' +
            '  tick; a process that sleeps between open-loop requests is mostly caught in the kernel, so there only the total is printed.)');
if (wrkLines.length) console.log(`\n== cross-check: wrk -t1 -c64, json (closed loop)\n  ${wrkLines.join('\n  ')}`);
const perStream = (line) => /pid0_kib_per_stream=([-0-9.]+)/.exec(line)?.[1] ?? 'n/a';
console.log(`\n== memory per idle open stream (${kStreams} streams held open, VmRSS after minus before)`);
console.log(`  joeyd ${perStream(joeydMemory)} KiB per stream (target < 64); nginx ${perStream(nginxMemory)} KiB per stream`);
console.log(`\nPortkey, one streaming request: ${portkeyStream}`);
console.log(`joeyd† = diagnostic, not a result: the same joeyd with TCP_NODELAY set on accepted sockets by LD_PRELOAD (nodelay_preload.c).`);
console.log(`notes: ratios are left out (—) where the reference adds under 0.2 ms; "SAT" = the open-loop point could not keep the target rate (unsent requests or < 95% of it); ` +
            `Portkey fails streaming under Node 20, so it is compared on non-streaming requests only.`);
cleanup();
process.exit(0);
