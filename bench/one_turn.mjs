// A one-turn task, end to end: `joey run` against the scripted provider on 127.0.0.1,
// where the model's only answer is attempt_completion. Reports the wall time per task
// (median, p90) and joey's peak RSS, against two references measured in the same run
// on the same provider, with the very request body joey sent:
//   curl   a native process making the one HTTP request (process start + HTTP), with
//          its peak RSS under the same peak_rss wrapper
//   fetch  Node's own fetch in this process (the bare HTTP round trip, a new
//          connection each time)
// so the ratios show what joey adds over a bare HTTP client.
//
//   node bench/one_turn.mjs [JOEY_BIN] [PEAK_RSS_BIN]
//
// JOEY_BIN defaults to build/release/bin/joey, PEAK_RSS_BIN to the peak_rss built beside
// it. ONE_TURN_RUNS (default 20) timed runs of each, after 2 untimed warm-up runs; every
// joey run is killed after 30 s. The three are interleaved so that load from other
// work on the machine falls on all of them alike.

import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {startScriptedProvider} from '../tests/e2e/scripted_provider.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const joeyBin =
    path.resolve(process.argv[2] ?? path.join(repoRoot, 'build', 'release', 'bin', 'joey'));
const peakRssBin =
    path.resolve(process.argv[3] ?? path.join(path.dirname(joeyBin), '..', 'bench', 'peak_rss'));
const runs = Number.parseInt(process.env.ONE_TURN_RUNS ?? '20', 10);
const kWarmUpRuns = 2;
const kRunTimeoutMs = 30_000;
const kModel = 'bench-model';
const kKey = 'sk-bench-not-a-real-key';

const completeTurn = {
  tool_calls: [{name: 'attempt_completion', arguments: {result: 'done'}}]
};

// Runs argv[0] with argv[1..] under peak_rss. Resolves to { code, ms, rssKib, stdout, stderr }.
function runMeasured(argv, {env, cwd, rssFile}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(
        peakRssBin, ['--output', rssFile, '--', ...argv],
        {env, cwd, stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), kRunTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', async (code) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      let rssKib = NaN;
      try {
        rssKib = Number.parseInt(await readFile(rssFile, 'utf8'), 10);
      } catch {
        // Left NaN: the caller reports the failed run.
      }
      resolve({code, ms, rssKib, stdout, stderr});
    });
  });
}

function percentile(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

function describe(name, times, rss) {
  const rssText =
      rss ? `  peak RSS median ${percentile(rss, 0.5)} KiB (max ${Math.max(...rss)})` : '';
  return `  ${name.padEnd(20)} median ${percentile(times, 0.5).toFixed(1)} ms  p90 ${
      percentile(times, 0.9).toFixed(1)} ms${rssText}`;
}

async function main() {
  for (const binary of [joeyBin, peakRssBin]) {
    if (!existsSync(binary)) {
      throw new Error(`${
          binary} not found; build first: cmake --preset release && cmake --build build/release`);
    }
  }
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
    throw new Error(`ONE_TURN_RUNS must be between 1 and 1000, not ${process.env.ONE_TURN_RUNS}`);
  }
  const total = kWarmUpRuns + runs;
  // joey and curl each consume one turn per run; fetch too.
  const provider =
      await startScriptedProvider({turns: Array(3 * total).fill(completeTurn), models: [kModel]});
  const root = await mkdtemp(path.join(tmpdir(), 'joey-bench-one-turn-'));
  try {
    const home = path.join(root, 'home');
    const workspace = path.join(root, 'workspace');
    await mkdir(home, {mode: 0o700});
    await mkdir(workspace);
    await writeFile(path.join(workspace, 'README.md'), '# a small project\n');
    const env = {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      TMPDIR: tmpdir(),
      HOME: home,
      JOEY_HOME: home,
      JOEY_TELEMETRY: '0',
      DO_NOT_TRACK: '1',
      OPENAI_COMPATIBLE_API_KEY: kKey,
    };
    const joeyArgv = [
      joeyBin, 'run', '--provider', 'openai-compatible', '--base-url', `${provider.url}/v1`,
      '--model', kModel, '--yes', '--output', 'json', '--cwd', workspace, 'say done'
    ];
    const rssFile = path.join(root, 'rss');
    const bodyFile = path.join(root, 'body.json');
    const endpoint = `${provider.url}/v1/chat/completions`;

    const results = {joey: [], joeyRss: [], curl: [], curlRss: [], fetch: []};
    let body = null;
    for (let run = 0; run < total; run++) {
      const counted = run >= kWarmUpRuns;
      const before = provider.requests.length;
      const joey = await runMeasured(joeyArgv, {env, cwd: workspace, rssFile});
      const completed =
          joey.stdout.split('\n').some((line) => line.includes('"type":"completion"'));
      if (joey.code !== 0 || !completed) {
        throw new Error(`joey run failed (exit ${joey.code}):\n${joey.stdout}\n${joey.stderr}`);
      }
      const posts = provider.requests.slice(before).filter((request) => request.method === 'POST');
      if (posts.length !== 1) throw new Error(`joey made ${posts.length} model requests, not 1`);
      if (body === null) {
        body = JSON.stringify(posts[0].body);
        await writeFile(bodyFile, body);
      }

      const curl = await runMeasured(
          [
            'curl', '--silent', '--show-error', '--fail', '--no-buffer', '--output', '/dev/null',
            '--header', 'content-type: application/json', '--header',
            `authorization: Bearer ${kKey}`, '--data-binary', `@${bodyFile}`, endpoint
          ],
          {env, cwd: workspace, rssFile});
      if (curl.code !== 0) throw new Error(`curl failed (exit ${curl.code}): ${curl.stderr}`);

      const start = process.hrtime.bigint();
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${kKey}`,
          connection: 'close'
        },
        body,
      });
      const text = await response.text();
      const fetchMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (!response.ok || !text.includes('attempt_completion')) {
        throw new Error(`fetch got ${response.status}: ${text.slice(0, 200)}`);
      }

      if (counted) {
        results.joey.push(joey.ms);
        results.joeyRss.push(joey.rssKib);
        results.curl.push(curl.ms);
        results.curlRss.push(curl.rssKib);
        results.fetch.push(fetchMs);
      }
    }

    const median = (values) => percentile(values, 0.5);
    console.log(`== one-turn task: ${runs} runs each after ${kWarmUpRuns} warm-up, provider at ${
        provider.url}`);
    console.log(
        `  request body joey sent: ${body.length} bytes (system prompt and tool definitions)`);
    console.log(describe('joey run', results.joey, results.joeyRss));
    console.log(describe('curl (same request)', results.curl, results.curlRss));
    console.log(describe('fetch (in-process)', results.fetch));
    console.log(`  one turn: joey / curl  = ${
        (median(results.joey) / median(results.curl)).toFixed(2)}x wall (median), ${
        (median(results.joeyRss) / median(results.curlRss)).toFixed(2)}x peak RSS`);
    console.log(`  one turn: joey / fetch = ${
        (median(results.joey) / median(results.fetch)).toFixed(2)}x wall (median)`);
  } finally {
    await provider.close();
    await rm(root, {recursive: true, force: true});
  }
}

main().catch((error) => {
  console.error(`one_turn.mjs: ${error.message}`);
  process.exitCode = 1;
});
