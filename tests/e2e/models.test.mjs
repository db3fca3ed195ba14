// `joey models` lists what a provider offers — the command joey's "unknown model"
// error points people to — under both wire protocols, with the key in its own header.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startScriptedProvider } from './scripted_provider.mjs';
import { joeyMissing, kProtocols, kKeyVariable, makeSandbox, runJoey, providerArgs, fakeKey, keyLeaks } from './helpers.mjs';

for (const protocol of kProtocols) {
  test(`joey models lists the ${protocol} provider's models, sorted`, { skip: joeyMissing }, async (t) => {
    const provider = await startScriptedProvider({ models: ['zeta-large', 'alpha-small'] });
    const sandbox = await makeSandbox();
    t.after(async () => { await provider.close(); await sandbox.cleanup(); });
    const key = fakeKey(protocol);
    const result = await runJoey(['models', ...providerArgs(protocol, provider)],
      { sandbox, env: { [kKeyVariable[protocol]]: key } });
    assert.equal(result.code, 0, result.output());
    assert.deepEqual(result.stdout.trim().split('\n'), ['alpha-small', 'zeta-large']);
    assert.equal(provider.requests.length, 1);
    assert.equal(provider.requests[0].method, 'GET');
    assert.deepEqual(keyLeaks(protocol, provider, key, result), []);
  });
}

test('joey models against an unreachable endpoint fails with the URL in the message', { skip: joeyMissing }, async (t) => {
  const sandbox = await makeSandbox();
  t.after(() => sandbox.cleanup());
  // Port 9 (discard) on loopback: nothing listens there in the test environment.
  const result = await runJoey(['models', '--provider', 'openai-compatible', '--base-url', 'http://127.0.0.1:9/v1'],
    { sandbox, env: { JOEY_CONNECT_TIMEOUT_MS: '2000' } });
  assert.equal(result.code, 1, result.output());
  assert.match(result.stderr, /127\.0\.0\.1:9/);
});
