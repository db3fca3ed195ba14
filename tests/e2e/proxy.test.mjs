// The model proxy end to end: the official `openai` and `@anthropic-ai/sdk` clients stream
// through a real joeyd on loopback (SQLite in a temporary directory) to the scripted
// provider, and get the same events they get talking to it directly; split tool-call
// deltas survive; the usage chunk the proxy asks for is hidden from a client that did not;
// the joey token never reaches the provider (the operator's key does); usage lands in the
// user's report; a client that disconnects mid-stream closes the upstream request; refusals
// come in each protocol's error shape, the transport's and router's own (unknown endpoint,
// body too large, not JSON, wrong method) included.

import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import {fakeKey, kModel, waitFor} from './helpers.mjs';
import {joeydApi as api, joeydMissing, startProxyCloud, stopJoeyd} from './joeyd.mjs';
import {startScriptedProvider} from './scripted_provider.mjs';

// Chunks without the fields that differ on every answer (ids, timestamps).
function normalizedChunks(chunks) {
  return normalizedEvents(chunks.map((chunk) => {
    const {id, created, ...rest} = chunk;
    return rest;
  }));
}

// Ids the scripted provider draws at random (messages, tool calls) replaced by one word.
function normalizedEvents(events) {
  return JSON.parse(JSON.stringify(events).replace(/"(msg|toolu|call|resp|fc)_[A-Za-z0-9]+"/g, '"$1_ID"'));
}

async function collect(stream) {
  const out = [];
  for await (const item of stream) out.push(item);
  return out;
}

const toolTurn = (usage) => ({
  text: 'Reading the file first.',
  text_pieces: 4,
  tool_calls: [{name: 'read_file', arguments: {path: 'src/main.cpp', reason: 'a "quoted" → ünïcode'}}],
  split: 5,
  usage,
});

describe('the model proxy', {skip: joeydMissing}, () => {
  let provider;
  let server;
  let root;
  let token;
  const operatorOpenAiKey = fakeKey('openai');
  const operatorAnthropicKey = fakeKey('anthropic');
  const turns = [];

  before(async () => {
    provider = await startScriptedProvider({turns});
    root = await mkdtemp(path.join(tmpdir(), 'joeyd-proxy-e2e-'));
    ({server, token} = await startProxyCloud(
        provider.url, root, {keys: {openai: operatorOpenAiKey, anthropic: operatorAnthropicKey}, tokenName: 'sdk'}));
  });

  after(async () => {
    if (server) await stopJoeyd(server);
    if (provider) await provider.close();
    if (root) await rm(root, {recursive: true, force: true});
  });

  const direct = () => new OpenAI({baseURL: `${provider.url}/v1`, apiKey: operatorOpenAiKey, maxRetries: 0});
  const proxied = () => new OpenAI({baseURL: `${server.url}/proxy/v1`, apiKey: token, maxRetries: 0});
  const proxiedAnthropic = () => new Anthropic({baseURL: `${server.url}/proxy`, apiKey: token, maxRetries: 0});
  const lastRequest = () => provider.requests[provider.requests.length - 1];

  test('openai streams the same chunks through the proxy as directly, tool-call pieces included', async () => {
    const usage = {input: 120, output: 30, cache_read: 20};
    turns.push(toolTurn(usage), toolTurn(usage));
    const request = {model: kModel, messages: [{role: 'user', content: 'read main'}], stream: true};
    const straight = await collect(await direct().chat.completions.create(request));
    const relayed = await collect(await proxied().chat.completions.create(request));
    assert.deepEqual(normalizedChunks(relayed), normalizedChunks(straight));
    const argumentPieces = relayed.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? [])
                               .map((call) => call.function?.arguments ?? '');
    assert.ok(argumentPieces.length >= 5, `tool-call arguments arrived in ${argumentPieces.length} pieces`);
    assert.ok(relayed.every((chunk) => !chunk.usage), 'the usage chunk the proxy asked for is hidden');

    const upstream = lastRequest();
    assert.equal(upstream.body.stream_options?.include_usage, true, 'the proxy asked for usage');
    assert.equal(upstream.headers.authorization, `Bearer ${operatorOpenAiKey}`);
    assert.ok(!JSON.stringify(upstream.headers).includes(token), 'the joey token stays at the proxy');
  });

  test('openai gets the usage chunk through the proxy when it asks for it', async () => {
    turns.push(toolTurn({input: 7, output: 3}));
    const relayed = await collect(await proxied().chat.completions.create({
      model: kModel,
      messages: [{role: 'user', content: 'hi'}],
      stream: true,
      stream_options: {include_usage: true},
    }));
    const withUsage = relayed.filter((chunk) => chunk.usage);
    assert.equal(withUsage.length, 1);
    assert.equal(withUsage[0].usage.completion_tokens, 3);
  });

  test('a non-streaming openai answer passes through unchanged', async () => {
    turns.push({text: 'plain answer', usage: {input: 5, output: 2}}, {text: 'plain answer', usage: {input: 5, output: 2}});
    const request = {model: kModel, messages: [{role: 'user', content: 'hi'}]};
    const straight = await direct().chat.completions.create(request);
    const relayed = await proxied().chat.completions.create(request);
    assert.deepEqual(normalizedChunks([relayed]), normalizedChunks([straight]));
  });

  test('anthropic streams the same events through the proxy as directly', async () => {
    const usage = {input: 50, output: 12, cache_read: 4, cache_write: 6};
    turns.push(toolTurn(usage), toolTurn(usage));
    const request = {model: kModel, max_tokens: 256, messages: [{role: 'user', content: 'read main'}]};
    const straight = await collect(new Anthropic({baseURL: provider.url, apiKey: operatorAnthropicKey, maxRetries: 0})
                                       .messages.stream(request));
    const relayed = await collect(proxiedAnthropic().messages.stream(request));
    assert.deepEqual(normalizedEvents(relayed), normalizedEvents(straight));
    const upstream = lastRequest();
    assert.equal(upstream.path, '/v1/messages');
    assert.equal(upstream.query, '');
    assert.equal(upstream.headers['x-api-key'], operatorAnthropicKey);
    assert.ok(!JSON.stringify(upstream.headers).includes(token));
  });

  test('proxied requests show up in the usage report', async () => {
    const report = await api(server, 'GET', '/api/me/usage?group_by=model', {token});
    assert.equal(report.status, 200, JSON.stringify(report.body));
    // Proxied so far: the openai tool turn (120 uncached + 20 cached in, 30 out), the one
    // that asked for usage (7, 3), the plain answer (5, 2) and the anthropic turn (50 + 4
    // cached + 6 written, 12 out). The proxy read each from the answer.
    assert.equal(report.body.total.requests, 4, JSON.stringify(report.body.total));
    assert.equal(report.body.total.input_tokens, 120 + 7 + 5 + 50);
    assert.equal(report.body.total.output_tokens, 30 + 3 + 2 + 12);
    assert.equal(report.body.total.cache_read_tokens, 20 + 4);
    assert.equal(report.body.total.cache_write_tokens, 6);
  });

  test('a client that disconnects mid-stream closes the upstream request', async () => {
    turns.push({text: 'a long answer in many pieces '.repeat(20), text_pieces: 60, chunk_delay_ms: 100});
    const stream = await proxied().chat.completions.create(
        {model: kModel, messages: [{role: 'user', content: 'long'}], stream: true});
    let seen = 0;
    for await (const chunk of stream) {
      assert.ok(chunk);
      if (++seen === 2) {
        stream.controller.abort();  // the client hangs up after two chunks
        break;
      }
    }
    assert.equal(seen, 2);
    const upstream = lastRequest();
    // 60 pieces at 100 ms take 6 s; the proxy must hang up long before the answer ends.
    assert.ok(await waitFor(() => upstream.closed_early, 4_000), 'the proxy hung up on the provider');
  });

  test('refusals come in each protocol\'s error shape', async () => {
    const openaiError = await fetch(`${server.url}/proxy/v1/chat/completions`, {
      method: 'POST',
      headers: {'content-type': 'application/json', authorization: 'Bearer joey_pat_not_a_token'},
      body: JSON.stringify({model: kModel, messages: []}),
    });
    assert.equal(openaiError.status, 401);
    const openaiBody = await openaiError.json();
    assert.equal(openaiBody.error.type, 'authentication_error');

    const anthropicError = await fetch(`${server.url}/proxy/v1/messages`, {
      method: 'POST',
      headers: {'content-type': 'application/json', 'x-api-key': token},
      body: JSON.stringify({model: 'openai/gpt-4o', max_tokens: 5, messages: []}),
    });
    assert.equal(anthropicError.status, 400);
    const anthropicBody = await anthropicError.json();
    assert.equal(anthropicBody.type, 'error');
    assert.equal(anthropicBody.error.type, 'invalid_request_error');

    const sdk = new OpenAI({baseURL: `${server.url}/proxy/v1`, apiKey: 'wrong', maxRetries: 0});
    await assert.rejects(sdk.chat.completions.create({model: kModel, messages: []}),
                         (error) => error.status === 401);
  });

  test('refusals before any route runs come in the SDK\'s own shape too', async () => {
    // An endpoint the proxy does not serve: each SDK gets a 404 it can read.
    const openai = proxied();
    await assert.rejects(openai.embeddings.create({model: 'text-embedding-3-small', input: 'hi'}),
                         (error) => error.status === 404 && error.type === 'not_found_error' &&
                             /the joey proxy serves POST \/proxy\/v1\/chat\/completions/.test(error.message));
    const anthropic = proxiedAnthropic();
    await assert.rejects(
        anthropic.messages.batches.list(),
        (error) => error.status === 404 && error.type === 'not_found_error' &&
            /POST \/proxy\/v1\/messages\/count_tokens/.test(error.apiMessage));

    // A body over the proxy's limit: refused from its Content-Length, in the Messages shape.
    const huge = 'x'.repeat(33 * 1024 * 1024);
    await assert.rejects(
        anthropic.messages.create({model: 'claude-haiku-4-5', max_tokens: 5, messages: [{role: 'user', content: huge}]}),
        (error) => error.status === 413 && error.type === 'request_too_large' &&
            error.apiMessage === 'the request body is too large');
    await assert.rejects(
        openai.chat.completions.create({model: kModel, messages: [{role: 'user', content: huge}]}),
        (error) => error.status === 413 && error.type === 'invalid_request_error');

    // Not JSON, and the wrong method.
    const notJson = await fetch(`${server.url}/proxy/v1/messages`, {
      method: 'POST', headers: {'content-type': 'text/plain', 'x-api-key': token}, body: 'hello',
    });
    assert.equal(notJson.status, 415);
    const notJsonBody = await notJson.json();
    assert.equal(notJsonBody.type, 'error');
    assert.equal(notJsonBody.error.type, 'invalid_request_error');
    assert.match(notJsonBody.error.message, /Content-Type: application\/json/);
    const wrongMethod = await fetch(`${server.url}/proxy/v1/chat/completions`, {headers: {authorization: `Bearer ${token}`}});
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    assert.equal((await wrongMethod.json()).error.type, 'invalid_request_error');
    // Outside /proxy/, joeyd's own API keeps its shape.
    const api404 = await fetch(`${server.url}/api/nothing-here`);
    assert.equal((await api404.json()).error.code, 'not_found');
  });

  test('each SDK lists the proxy\'s models in its own shape, and is refused in it', async () => {
    const openaiIds = [];
    for await (const model of proxied().models.list()) openaiIds.push(model.id);
    assert.ok(openaiIds.includes('gpt-4o') && openaiIds.some((id) => id.startsWith('claude')), openaiIds.join());

    const anthropic = proxiedAnthropic();
    const listed = [];
    for await (const model of anthropic.models.list()) listed.push(model);
    assert.deepEqual(listed.map((model) => model.id), openaiIds, 'the same models either way');
    const claude = listed.find((model) => model.id.startsWith('claude'));
    assert.equal(claude.type, 'model');
    assert.equal(typeof claude.display_name, 'string');
    assert.ok(claude.context_window > 0);
    const page = await anthropic.models.list();
    assert.equal(page.has_more, false);
    assert.equal(page.first_id, listed[0].id);
    assert.equal(page.last_id, listed[listed.length - 1].id);

    const stranger = new Anthropic({baseURL: `${server.url}/proxy`, apiKey: 'joey_pat_not_a_token', maxRetries: 0});
    await assert.rejects(stranger.models.list(),
                         (error) => error.status === 401 && error.type === 'authentication_error');

    // One model by its id (models.retrieve), with or without a provider prefix.
    const one = await proxied().models.retrieve('gpt-4o');
    assert.equal(one.id, 'gpt-4o');
    assert.equal(one.object, 'model');
    assert.ok(one.pricing.input_per_million_usd > 0);
    assert.deepEqual(await anthropic.models.retrieve(claude.id), claude);
    assert.equal((await proxied().models.retrieve(`anthropic/${claude.id}`)).id, claude.id);
    await assert.rejects(proxied().models.retrieve('no-such-model'),
                         (error) => error.status === 404 && error.type === 'not_found_error' &&
                             /offers no model 'no-such-model'/.test(error.message));
    await assert.rejects(anthropic.models.retrieve('no-such-model'),
                         (error) => error.status === 404 && error.type === 'not_found_error');
  });

  test('GET /proxy/v1/models lists models with context windows and prices', async () => {
    const listed = await api(server, 'GET', '/proxy/v1/models', {token});
    assert.equal(listed.status, 200);
    assert.equal(listed.body.object, 'list');
    const gpt = listed.body.data.find((model) => model.id === 'gpt-4o');
    assert.ok(gpt, 'gpt-4o is listed');
    assert.ok(gpt.context_window > 0);
    assert.ok(gpt.pricing.input_per_million_usd > 0);
    // Each listed price is the price list's own figure per million tokens, not a
    // per-token price multiplied back (0.7999999999999999 for 0.8).
    const list = JSON.parse(readFileSync(new URL('../../data/prices.json', import.meta.url), 'utf8'));
    for (const model of listed.body.data) {
      const stated = list.models[model.id];
      assert.ok(stated, `${model.id} is in data/prices.json`);
      for (const kind of ['input', 'output', 'cache_read', 'cache_write']) {
        assert.equal(model.pricing[`${kind}_per_million_usd`], stated[kind] ?? 0, `${model.id} ${kind}`);
      }
    }
  });
  test('anthropic counts tokens through the proxy as directly, with the operator\'s key', async () => {
    const params = {model: 'claude-haiku-4-5', system: 'Be brief.', messages: [{role: 'user', content: 'Count me, please.'}]};
    const direct = new Anthropic({baseURL: provider.url, apiKey: operatorAnthropicKey, maxRetries: 0});
    const anthropic = proxiedAnthropic();
    const expected = await direct.messages.countTokens(params);
    const turnsBefore = provider.turnsConsumed();
    const counted = await anthropic.messages.countTokens(params);
    assert.deepEqual(counted, expected);
    assert.ok(counted.input_tokens > 0);
    assert.equal(provider.turnsConsumed(), turnsBefore, 'a count is not a model answer');
    const upstream = lastRequest();
    assert.equal(upstream.path, '/v1/messages/count_tokens');
    assert.equal(upstream.headers['x-api-key'], operatorAnthropicKey);
    assert.ok(!JSON.stringify(upstream.headers).includes(token), 'the joey token stays with joeyd');

    // The provider's refusal comes back in Anthropic's shape.
    await assert.rejects(anthropic.messages.countTokens({model: 'claude-haiku-4-5'}),
                         (error) => error.status === 400 && error.type === 'invalid_request_error');
    // Admission applies as to any proxied request: a bad token is refused before upstream.
    const stranger = new Anthropic({baseURL: `${server.url}/proxy`, apiKey: 'joey_pat_not_a_token', maxRetries: 0});
    const requestsBefore = provider.requests.length;
    await assert.rejects(stranger.messages.countTokens(params), (error) => error.status === 401);
    assert.equal(provider.requests.length, requestsBefore);
  });
  test('openai streams Responses API events through the proxy as directly, and they are metered', async () => {
    const kResponsesModel = 'gpt-5-mini';  // this test's alone, so its usage row is its own
    const usage = {input: 90, output: 21, cache_read: 10};
    turns.push(toolTurn(usage), toolTurn(usage));
    const request = {model: kResponsesModel, input: 'read main', stream: true};
    const straight = await collect(await direct().responses.create(request));
    const relayed = await collect(await proxied().responses.create(request));
    assert.deepEqual(normalizedEvents(relayed), normalizedEvents(straight));
    const pieces = relayed.filter((event) => event.type === 'response.function_call_arguments.delta');
    assert.ok(pieces.length >= 5, `function-call arguments arrived in ${pieces.length} pieces`);
    assert.equal(relayed.at(-1).type, 'response.completed');
    const upstream = lastRequest();
    assert.equal(upstream.path, '/v1/responses');
    assert.deepEqual(upstream.body, request, 'the body goes upstream as the client sent it');
    assert.equal(upstream.headers.authorization, `Bearer ${operatorOpenAiKey}`);
    assert.ok(!JSON.stringify(upstream.headers).includes(token), 'the joey token stays at the proxy');

    // A JSON answer passes unchanged too.
    turns.push({text: 'plain answer', usage: {input: 5, output: 2}}, {text: 'plain answer', usage: {input: 5, output: 2}});
    const plain = {model: kResponsesModel, input: 'hi'};
    assert.deepEqual(normalizedEvents([await proxied().responses.create(plain)]),
                     normalizedEvents([await direct().responses.create(plain)]));

    // Both were metered from the answers: 90 uncached + 10 cached in and 21 out, then 5 and 2.
    let row;
    assert.ok(await waitFor(async () => {
      const report = await api(server, 'GET', '/api/me/usage?group_by=model', {token});
      row = report.body.groups?.find((group) => group.key === kResponsesModel);
      return row?.requests === 2;
    }), `two requests of ${kResponsesModel} in the usage report: ${JSON.stringify(row)}`);
    assert.equal(row.input_tokens, 90 + 5);
    assert.equal(row.cache_read_tokens, 10);
    assert.equal(row.output_tokens, 21 + 2);
    assert.ok(row.cost_usd > 0, 'gpt-5-mini has a price');

    // A Claude model is refused here, naming where it is served; errors have OpenAI's shape.
    await assert.rejects(proxied().responses.create({model: 'anthropic/claude-haiku-4-5', input: 'hi'}),
                         (error) => error.status === 400 && error.type === 'invalid_request_error' &&
                             /\/proxy\/v1\/messages/.test(error.message));
  });
  test('joeyd\'s log says which operator keys are set, and holds no key or token', () => {
    assert.match(server.stderr, /proxy_operator_keys openai=set anthropic=set openrouter=unset/);
    for (const secret of [operatorOpenAiKey, operatorAnthropicKey, token]) {
      assert.ok(!server.stderr.includes(secret), 'a key or token in the log');
    }
  });
  test('a request\'s query and anthropic-beta header reach the provider as sent', async () => {
    turns.push({text: 'beta answer', usage: {input: 3, output: 2}}, {text: 'beta answer', usage: {input: 3, output: 2}});
    // Anthropic's SDK names betas in a header; some clients also mark beta calls ?beta=true.
    const anthropic = proxiedAnthropic();
    const answer = await anthropic.beta.messages.create({
      model: kModel, max_tokens: 16, betas: ['context-management-2025-06-27'],
      messages: [{role: 'user', content: 'hi'}],
    });
    assert.equal(answer.content[0].text, 'beta answer');
    assert.equal(lastRequest().headers['anthropic-beta'], 'context-management-2025-06-27');
    assert.equal(lastRequest().query, '');
    const marked = await fetch(`${server.url}/proxy/v1/messages?beta=true`, {
      method: 'POST',
      headers: {'content-type': 'application/json', 'x-api-key': token, 'anthropic-version': '2023-06-01'},
      body: JSON.stringify({model: kModel, max_tokens: 16, messages: [{role: 'user', content: 'hi'}]}),
    });
    assert.equal(marked.status, 200);
    assert.equal(lastRequest().path, '/v1/messages');
    assert.equal(lastRequest().query, 'beta=true');
  });
});
