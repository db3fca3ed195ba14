// Runs the joeyd binary for end-to-end tests: JOEYD_BIN, or `joeyd` beside JOEY_BIN.
// `joeydMissing` is false, or the reason tests using joeyd skip.

import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {joeyBin} from './helpers.mjs';

export const joeydBin = process.env.JOEYD_BIN ?? path.join(path.dirname(joeyBin), 'joeyd');
export const joeydMissing = existsSync(joeydBin) ? false :
                                    `joeyd binary not found at ${joeydBin} (build it or set JOEYD_BIN)`;

const kStartTimeoutMs = 15_000;
const kStopTimeoutMs = 15_000;

function baseEnv(home) {
  return {PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', JOEY_LOG: 'info'};
}

// Runs joeyd to completion (for usage errors). Resolves to {code, stdout, stderr}.
export function runJoeyd(args, {home, timeoutMs = 15_000} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(joeydBin, args, {env: baseEnv(home ?? tmpdir()), stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code, signal, stdout, stderr});
    });
  });
}

// Starts `joeyd serve` and resolves once it printed its listening line.
// `env` adds variables (e.g. the operator's provider keys); `cwd` is its working
// directory; `shellPrefix` is bash run first in the same process, which then execs
// joeyd (e.g. 'ulimit -c unlimited;').
export function startJoeyd(args, {home, env = {}, cwd, shellPrefix}) {
  return new Promise((resolve, reject) => {
    const [file, argv] = shellPrefix === undefined ?
        [joeydBin, ['serve', ...args]] :
        ['bash', ['-c', `${shellPrefix} exec "$0" "$@"`, joeydBin, 'serve', ...args]];
    const child = spawn(file, argv, {env: {...baseEnv(home), ...env}, cwd, stdio: ['ignore', 'pipe', 'pipe']});
    const server = {child, stdout: '', stderr: '', url: null};
    server.exited = new Promise((resolveExit) => {
      child.on('close', (code, signal) => resolveExit({code, signal}));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`joeyd did not report its address in time; stderr:\n${server.stderr}`));
    }, kStartTimeoutMs);
    child.stderr.setEncoding('utf8').on('data', (chunk) => (server.stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      server.stdout += chunk;
      const match = /^joeyd: listening on (https?:\/\/\S+)\n/.exec(server.stdout);
      if (match && !server.url) {
        clearTimeout(timer);
        server.url = match[1];
        resolve(server);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!server.url) reject(new Error(`joeyd exited with ${code} before listening:\n${server.stderr}`));
    });
  });
}

export async function stopJoeyd(server) {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), kStopTimeoutMs);
  const result = await server.exited;
  clearTimeout(timer);
  return result;
}

// METHOD route on a started joeyd, with a JSON body, a session cookie ("joey_session=…")
// or a bearer token. Resolves to {status, body (parsed JSON or null), cookie (the
// Set-Cookie name=value, or "")}.
export async function joeydApi(server, method, route, {body, cookie, token} = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (cookie) headers.cookie = cookie;
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(server.url + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    cookie: (response.headers.get('set-cookie') ?? '').split(';')[0],
  };
}

// A joeyd on loopback whose model proxy sends OpenAI and Anthropic requests to
// `providerUrl` (a scripted provider's), data and home in `root`, with Ada signed up and a
// token of hers named `tokenName`. `keys` are the operator's keys ({openai, anthropic});
// `extraArgs` and `extraEnv` go to joeyd as they are. Resolves to {server, token}.
export async function startProxyCloud(providerUrl, root, {keys, tokenName = 'agent', extraArgs = [], extraEnv = {}}) {
  const server = await startJoeyd(
      ['--listen', '127.0.0.1:0', '--data', path.join(root, 'data'), '--upstream-openai', `${providerUrl}/v1`,
       '--upstream-anthropic', `${providerUrl}/v1`, ...extraArgs],
      {home: root, env: {JOEYD_OPENAI_API_KEY: keys.openai, JOEYD_ANTHROPIC_API_KEY: keys.anthropic, ...extraEnv}});
  const fail = async (what, answer) => {
    await stopJoeyd(server);
    throw new Error(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  };
  const signup = await joeydApi(server, 'POST', '/api/auth/signup',
                                {body: {email: 'ada@example.com', password: 'correct horse battery', name: 'Ada'}});
  if (signup.status !== 201) await fail('signup', signup);
  const created = await joeydApi(server, 'POST', '/api/tokens', {body: {name: tokenName}, cookie: signup.cookie});
  if (created.status !== 201) await fail('creating a token', created);
  return {server, token: created.body.token};
}
