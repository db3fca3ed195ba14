// `joey login`, `joey whoami` and `joey logout` against a real joeyd on loopback (SQLite
// in a temporary data directory): the device login approved through the API as a signed-in
// browser would, a token given on stdin, the token kept only in the secrets file and sent
// only in the Authorization header of requests to its own server, the egress log noting
// purpose cloud, and logout revoking the token on the server.

import assert from 'node:assert/strict';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {describe, test} from 'node:test';

import {filesUnder, joeyMissing, makeSandbox, runJoey} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startJoeyd, stopJoeyd} from './joeyd.mjs';

const kPassword = 'correct horse battery';

async function setUp(t) {
  const sandbox = await makeSandbox();
  const server = await startJoeyd(['--listen', '127.0.0.1:0', '--data', path.join(sandbox.root, 'data')],
                                  {home: sandbox.root});
  t.after(async () => {
    await stopJoeyd(server);
    await sandbox.cleanup();
  });
  const signup = await api(server, 'POST', '/api/auth/signup',
                           {body: {email: 'ada@example.com', password: kPassword, name: 'Ada'}});
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  return {sandbox, server, cookie: signup.cookie};
}

// The token `joey login` stored (the file backend: no Secret Service in tests).
async function storedToken(sandbox) {
  const secrets = JSON.parse(await readFile(path.join(sandbox.home, 'secrets.json'), 'utf8'));
  return secrets.keys.cloud;
}

async function assertTokenOnlyInSecretsFile(sandbox, token) {
  const holding = [];
  for (const file of await filesUnder(sandbox.home)) {
    if ((await readFile(file)).includes(Buffer.from(token))) holding.push(path.relative(sandbox.home, file));
  }
  assert.deepEqual(holding, ['secrets.json']);
}

describe('joey login against joeyd', {skip: joeyMissing || joeydMissing}, () => {
  test('device login: the code is approved in the browser and the token is kept', async (t) => {
    const {sandbox, server, cookie} = await setUp(t);
    let approved = null;
    const login = await runJoey(['login', '--server', server.url, '--no-browser'], {
      sandbox,
      timeoutMs: 60_000,
      onStart: (child, stdout) => {
        const timer = setInterval(() => {
          const code = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(stdout());
          if (!code || approved) return;
          clearInterval(timer);
          approved = api(server, 'POST', '/api/auth/device/approve', {body: {user_code: code[1]}, cookie});
        }, 50);
        child.on('close', () => clearInterval(timer));
      },
    });
    assert.equal(login.code, 0, login.output());
    assert.equal((await approved).status, 204);
    assert.match(login.stdout, new RegExp(`open ${server.url}/device`));
    assert.match(login.stdout, /Signed in to .* as ada@example\.com/);

    const token = await storedToken(sandbox);
    assert.match(token, /^joey_pat_/);
    assert.ok(!(login.stdout + login.stderr).includes(token), 'the token is never printed');
    const config = await readFile(path.join(sandbox.home, 'config.toml'), 'utf8');
    assert.ok(config.includes(server.url), config);

    const whoami = await runJoey(['whoami'], {sandbox});
    assert.equal(whoami.code, 0, whoami.output());
    assert.match(whoami.stdout, /ada@example\.com \(Ada\) on http:\/\/127\.0\.0\.1:/);
    await assertTokenOnlyInSecretsFile(sandbox, token);
    // joeyd's access log names the route template and the user, never the token.
    assert.match(server.stderr, /route=\/api\/me status=200 .*user_id=[0-9a-f]{24}/);
    assert.ok(!server.stderr.includes(token), 'the token is not in the access log');

    // The egress log names the server with purpose cloud, and the report shows it.
    const report = await runJoey(['privacy', 'report', '--json'], {sandbox});
    assert.equal(report.code, 0, report.output());
    assert.ok(report.stdout.includes('"cloud"'), report.stdout);
    assert.ok(report.stdout.includes(new URL(server.url).host), report.stdout);

    const logout = await runJoey(['logout'], {sandbox});
    assert.equal(logout.code, 0, logout.output());
    assert.equal((await api(server, 'GET', '/api/me', {token})).status, 401, 'revoked on the server');
    const after = await runJoey(['whoami'], {sandbox});
    assert.equal(after.code, 1);
    assert.match(after.stderr, /not signed in/);
  });

  test('a token on stdin is checked, kept, and a wrong one is refused', async (t) => {
    const {sandbox, server, cookie} = await setUp(t);
    const created = await api(server, 'POST', '/api/tokens', {body: {name: 'ci'}, cookie});
    assert.equal(created.status, 201);
    const token = created.body.token;

    const wrong = await runJoey(['login', '--server', server.url, '--token', '-'],
                                {sandbox, input: 'joey_pat_' + 'x'.repeat(43) + '\n'});
    assert.equal(wrong.code, 1, wrong.output());
    assert.match(wrong.stderr, /checking the token/);

    const right = await runJoey(['login', '--server', server.url, '--token', '-'], {sandbox, input: token + '\n'});
    assert.equal(right.code, 0, right.output());
    assert.equal(await storedToken(sandbox), token);
    await assertTokenOnlyInSecretsFile(sandbox, token);

    // Headless: JOEY_CLOUD_URL + JOEY_CLOUD_TOKEN, nothing stored needed.
    const other = await makeSandbox();
    t.after(() => other.cleanup());
    const headless = await runJoey(['whoami', '--json'],
                                   {sandbox: other, env: {JOEY_CLOUD_URL: server.url, JOEY_CLOUD_TOKEN: token}});
    assert.equal(headless.code, 0, headless.output());
    assert.equal(JSON.parse(headless.stdout).user.email, 'ada@example.com');
  });
});
