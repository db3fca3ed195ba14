// Proves the scripted provider speaks the real wire protocols: the official OpenAI
// and Anthropic SDKs, used as ordinary clients, must parse everything it sends
// (streamed pieces reassembled by the SDKs' own accumulators, typed errors).

import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import OpenAI from 'openai';

import {splitIntoPieces, startScriptedProvider} from './scripted_provider.mjs';

const kKey = 'test-key-not-secret';

async function withProvider(turns, body, options = {}) {
  const provider = await startScriptedProvider({turns, ...options});
  try {
    return await body(provider);
  } finally {
    await provider.close();
  }
}

function openaiClient(provider) {
  return new OpenAI({apiKey: kKey, baseURL: `${provider.url}/v1`, maxRetries: 0, timeout: 10_000});
}

function anthropicClient(provider) {
  return new Anthropic({apiKey: kKey, baseURL: provider.url, maxRetries: 0, timeout: 10_000});
}

const kTools = [
  {
    type: 'function',
    function: {
      name: 'write_to_file',
      description: 'Write a file',
      parameters: {type: 'object', properties: {path: {type: 'string'}, content: {type: 'string'}}},
    },
  },
];
const kAnthropicTools = [
  {
    name: 'write_to_file',
    description: 'Write a file',
    input_schema: {type: 'object', properties: {path: {type: 'string'}, content: {type: 'string'}}},
  },
];
const kArgs = {
  path: 'src/é.txt',
  content: 'line one\nline "two" 🎉\n'
};

// Reads an SSE body into a list of { event, data } records.
async function readSse(response) {
  const text = await response.text();
  return text.split('\n\n').filter((block) => block.trim() !== '').map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? null;
    const data = /^data: (.*)$/m.exec(block)?.[1] ?? null;
    return {event, data};
  });
}

describe('splitIntoPieces', () => {
  test('keeps surrogate pairs whole and loses nothing', () => {
    const pieces = splitIntoPieces('a🎉b🎉c', 5);
    assert.equal(pieces.join(''), 'a🎉b🎉c');
    assert.equal(pieces.length, 5);
    for (const piece of pieces) assert.doesNotMatch(piece, /[\ud800-\udbff]$/);
  });
});

describe('OpenAI Chat Completions', () => {
  test('streamed text and split tool calls reassemble through the SDK accumulator', async () => {
    const turns = [
      {
        text: 'I will write the file now.',
        tool_calls: [
          {name: 'write_to_file', arguments: kArgs},
          {name: 'write_to_file', arguments: {path: 'b', content: ''}}
        ],
        split: 7,
        usage: {input: 100, output: 40, cache_read: 30},
      },
    ];
    await withProvider(turns, async (provider) => {
      const client = openaiClient(provider);
      const argumentDeltas = [];
      const stream = client.chat.completions.stream({
        model: 'gpt-test',
        messages: [{role: 'user', content: 'hi'}],
        tools: kTools,
        stream_options: {include_usage: true},
      });
      stream.on('tool_calls.function.arguments.delta', (event) => argumentDeltas.push(event));
      const completion = await stream.finalChatCompletion();
      const message = completion.choices[0].message;
      assert.equal(message.content, 'I will write the file now.');
      assert.equal(completion.choices[0].finish_reason, 'tool_calls');
      assert.equal(message.tool_calls.length, 2);
      assert.match(message.tool_calls[0].id, /^call_[A-Za-z0-9]{24}$/);
      assert.notEqual(message.tool_calls[0].id, message.tool_calls[1].id);
      assert.equal(message.tool_calls[0].function.name, 'write_to_file');
      assert.deepEqual(JSON.parse(message.tool_calls[0].function.arguments), kArgs);
      assert.deepEqual(
          JSON.parse(message.tool_calls[1].function.arguments), {path: 'b', content: ''});
      assert.equal(
          argumentDeltas.filter((event) => event.index === 0 && event.arguments_delta !== '')
              .length,
          7);
      assert.deepEqual(
          {
            prompt: completion.usage.prompt_tokens,
            completion: completion.usage.completion_tokens,
            cached: completion.usage.prompt_tokens_details.cached_tokens
          },
          {prompt: 130, completion: 40, cached: 30},
      );
      assert.equal(provider.requests.length, 1);
      assert.equal(provider.requests[0].headers.authorization, `Bearer ${kKey}`);
      assert.equal(provider.requests[0].body.stream, true);
      assert.equal(provider.requests[0].path, '/v1/chat/completions');
    });
  });

  test('the usage chunk comes only when stream_options.include_usage is set', async () => {
    await withProvider([{text: 'a'}, {text: 'b'}], async (provider) => {
      const post = (extra) => fetch(`${provider.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {'content-type': 'application/json', authorization: `Bearer ${kKey}`},
        body: JSON.stringify({model: 'm', messages: [], stream: true, ...extra}),
      });
      const without = await readSse(await post({}));
      assert.equal(without.at(-1).data, '[DONE]');
      const withoutChunks = without.slice(0, -1).map((e) => JSON.parse(e.data));
      assert.ok(withoutChunks.every((chunk) => !('usage' in chunk)));

      const response = await post({stream_options: {include_usage: true}});
      assert.match(response.headers.get('content-type'), /^text\/event-stream/);
      const withUsage = await readSse(response);
      assert.equal(withUsage.at(-1).data, '[DONE]');
      const chunks = withUsage.slice(0, -1).map((e) => JSON.parse(e.data));
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.equal(typeof last.usage.prompt_tokens, 'number');
      assert.ok(chunks.slice(0, -1).every((chunk) => chunk.usage === null));
      assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    });
  });

  test('a non-streaming request gets a chat.completion the SDK parses', async () => {
    await withProvider(
        [{tool_calls: [{name: 'write_to_file', arguments: kArgs}], usage: {input: 5, output: 6}}],
        async (provider) => {
          const completion = await openaiClient(provider).chat.completions.create(
              {model: 'gpt-test', messages: [{role: 'user', content: 'x'}], tools: kTools});
          assert.equal(completion.object, 'chat.completion');
          assert.equal(completion.model, 'gpt-test');
          assert.deepEqual(
              JSON.parse(completion.choices[0].message.tool_calls[0].function.arguments), kArgs);
          assert.equal(completion.usage.total_tokens, 11);
        });
  });

  test(
      'raw string arguments are sent as they are, and invalid_json_arguments breaks them',
      async () => {
        const turns = [
          {tool_calls: [{name: 'write_to_file', arguments: '{"path":"x","content":"y"}'}]},
          {
            tool_calls: [{name: 'write_to_file', arguments: kArgs}],
            invalid_json_arguments: true,
            split: 4
          },
        ];
        await withProvider(turns, async (provider) => {
          const client = openaiClient(provider);
          const params = {model: 'm', messages: [{role: 'user', content: 'x'}], tools: kTools};
          const first = await client.chat.completions.stream(params).finalChatCompletion();
          assert.equal(
              first.choices[0].message.tool_calls[0].function.arguments,
              '{"path":"x","content":"y"}');
          const second = await client.chat.completions.stream(params).finalChatCompletion();
          const args = second.choices[0].message.tool_calls[0].function.arguments;
          assert.throws(() => JSON.parse(args), SyntaxError);
          assert.match(args, /^\{"path":"src\/é.txt"/);
        });
      });

  test('stream:false in a turn answers a streaming request with one JSON body', async () => {
    await withProvider([{text: 'whole', stream: false}], async (provider) => {
      const response = await fetch(`${provider.url}/chat/completions`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify({model: 'm', messages: [], stream: true}),
      });
      assert.match(response.headers.get('content-type'), /^application\/json/);
      const body = await response.json();
      assert.equal(body.choices[0].message.content, 'whole');
    });
  });

  test('error statuses surface as the SDK typed errors with the real codes', async () => {
    const turns = [
      {status: 429, headers: {'retry-after': '1'}},
      {status: 401},
      {status: 404},
      {error: 'context_length'},
      {status: 500},
    ];
    await withProvider(turns, async (provider) => {
      const client = openaiClient(provider);
      const call = () => client.chat.completions.create(
          {model: 'gpt-nope', messages: [{role: 'user', content: 'x'}]});
      await assert.rejects(call(), (error) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.headers.get('retry-after'), '1');
        assert.equal(error.code, 'rate_limit_exceeded');
        return true;
      });
      await assert.rejects(
          call(),
          (error) =>
              error instanceof OpenAI.AuthenticationError && error.code === 'invalid_api_key');
      await assert.rejects(
          call(),
          (error) => error instanceof OpenAI.NotFoundError && error.code === 'model_not_found' &&
              /gpt-nope/.test(error.message));
      await assert.rejects(
          call(),
          (error) => error instanceof OpenAI.BadRequestError &&
              error.code === 'context_length_exceeded' && /context length/i.test(error.message));
      await assert.rejects(
          call(), (error) => error instanceof OpenAI.InternalServerError && error.status === 500);
    });
  });

  test('a mid-stream error chunk surfaces as an APIError', async () => {
    await withProvider(
        [{text: 'partial answer', midstream_error: {message: 'upstream fell over'}}],
        async (provider) => {
          const stream = openaiClient(provider).chat.completions.stream(
              {model: 'm', messages: [{role: 'user', content: 'x'}]});
          await assert.rejects(
              stream.finalChatCompletion(),
              (error) =>
                  error instanceof OpenAI.APIError && /upstream fell over/.test(error.message));
        });
  });

  test('a stream cut mid-event fails the SDK instead of completing', async () => {
    await withProvider([{text: 'this will not finish', cut: true}], async (provider) => {
      const stream = openaiClient(provider).chat.completions.stream(
          {model: 'm', messages: [{role: 'user', content: 'x'}]});
      await assert.rejects(stream.finalChatCompletion());
    });
  });

  test('an exhausted script answers 500 saying so', async () => {
    await withProvider([], async (provider) => {
      await assert.rejects(
          openaiClient(provider).chat.completions.create(
              {model: 'm', messages: [{role: 'user', content: 'x'}]}),
          (error) =>
              error instanceof OpenAI.InternalServerError && /no turn left/.test(error.message),
      );
    });
  });

  test('GET /v1/models lists the configured models', async () => {
    await withProvider([], async (provider) => {
      const ids = [];
      for await (const model of openaiClient(provider).models.list()) ids.push(model.id);
      assert.deepEqual(ids, ['gpt-a', 'gpt-b']);
      assert.equal(provider.requests[0].method, 'GET');
    }, {models: ['gpt-a', 'gpt-b']});
  });
});

describe('Anthropic Messages', () => {
  test('streamed text and split tool_use reassemble through MessageStream', async () => {
    const turns = [
      {
        text: 'Writing it.',
        tool_calls: [{name: 'write_to_file', arguments: kArgs}],
        split: 9,
        usage: {input: 50, output: 22, cache_read: 1000, cache_write: 200},
      },
    ];
    await withProvider(turns, async (provider) => {
      const client = anthropicClient(provider);
      const jsonDeltas = [];
      const events = [];
      const stream = client.messages.stream({
        model: 'claude-test',
        max_tokens: 100,
        messages: [{role: 'user', content: 'hi'}],
        tools: kAnthropicTools
      });
      stream.on('streamEvent', (event) => {
        events.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta')
          jsonDeltas.push(event.delta.partial_json);
      });
      const message = await stream.finalMessage();
      assert.equal(message.stop_reason, 'tool_use');
      assert.equal(message.content[0].type, 'text');
      assert.equal(message.content[0].text, 'Writing it.');
      assert.equal(message.content[1].type, 'tool_use');
      assert.match(message.content[1].id, /^toolu_01[A-Za-z0-9]{22}$/);
      assert.equal(message.content[1].name, 'write_to_file');
      assert.deepEqual(message.content[1].input, kArgs);
      assert.equal(jsonDeltas.filter((piece) => piece !== '').length, 9);
      assert.equal(message.usage.input_tokens, 50);
      assert.equal(message.usage.output_tokens, 22);
      assert.equal(message.usage.cache_read_input_tokens, 1000);
      assert.equal(message.usage.cache_creation_input_tokens, 200);
      assert.equal(events[0], 'message_start');
      assert.equal(events.at(-1), 'message_stop');
      assert.ok(events.includes('message_delta'));
      const request = provider.requests[0];
      assert.equal(request.path, '/v1/messages');
      // This SDK version sends the key as a bearer token; joey sends x-api-key. Both reach
      // the stand-in unchanged.
      assert.ok(
          request.headers['x-api-key'] === kKey ||
          request.headers.authorization === `Bearer ${kKey}`);
      assert.ok(request.headers['anthropic-version']);
    });
  });

  test('the raw stream has the event names and a ping', async () => {
    await withProvider([{text: 'hi there'}], async (provider) => {
      const response = await fetch(`${provider.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': kKey,
          'anthropic-version': '2023-06-01'
        },
        body: JSON.stringify({model: 'c', max_tokens: 10, messages: [], stream: true}),
      });
      const events = await readSse(response);
      assert.deepEqual(
          events.map((e) => e.event),
          [
            'message_start', 'content_block_start', 'ping', 'content_block_delta',
            'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta',
            'message_stop'
          ],
      );
      for (const e of events) assert.equal(JSON.parse(e.data).type, e.event);
      assert.equal(JSON.parse(events.at(-2).data).delta.stop_reason, 'end_turn');
    });
  });

  test('a non-streaming request gets a message the SDK parses', async () => {
    await withProvider(
        [{text: 'done', tool_calls: [{name: 'write_to_file', arguments: kArgs}]}],
        async (provider) => {
          const message = await anthropicClient(provider).messages.create(
              {model: 'claude-test', max_tokens: 10, messages: [{role: 'user', content: 'x'}]});
          assert.equal(message.type, 'message');
          assert.match(message.id, /^msg_01/);
          assert.deepEqual(message.content[1].input, kArgs);
          assert.equal(message.stop_reason, 'tool_use');
          assert.equal(typeof message.usage.cache_read_input_tokens, 'number');
        });
  });

  test('error statuses surface as the SDK typed errors with the real types', async () => {
    const turns = [
      {status: 429, headers: {'retry-after': '0'}},
      {error: 'auth'},
      {status: 404},
      {error: 'context_length'},
      {status: 500},
      {error: 'overloaded'},
    ];
    await withProvider(turns, async (provider) => {
      const client = anthropicClient(provider);
      const call = () => client.messages.create(
          {model: 'claude-nope', max_tokens: 10, messages: [{role: 'user', content: 'x'}]});
      const errorType = (error) => error.error?.error?.type;
      await assert.rejects(
          call(),
          (error) => error instanceof Anthropic.RateLimitError &&
              errorType(error) === 'rate_limit_error' && error.headers.get('retry-after') === '0');
      await assert.rejects(
          call(),
          (error) => error instanceof Anthropic.AuthenticationError &&
              errorType(error) === 'authentication_error');
      await assert.rejects(
          call(),
          (error) => error instanceof Anthropic.NotFoundError &&
              errorType(error) === 'not_found_error' && /claude-nope/.test(error.message));
      await assert.rejects(
          call(),
          (error) => error instanceof Anthropic.BadRequestError &&
              /prompt is too long/.test(error.message));
      await assert.rejects(
          call(),
          (error) =>
              error instanceof Anthropic.InternalServerError && errorType(error) === 'api_error');
      await assert.rejects(
          call(),
          (error) => error instanceof Anthropic.InternalServerError && error.status === 529 &&
              errorType(error) === 'overloaded_error');
      assert.equal(provider.requests.length, 6);
    });
  });

  test('an in-stream error event surfaces as an APIError of its type', async () => {
    await withProvider([{text: 'some', midstream_error: true}], async (provider) => {
      const stream = anthropicClient(provider).messages.stream(
          {model: 'c', max_tokens: 10, messages: [{role: 'user', content: 'x'}]});
      await assert.rejects(
          stream.finalMessage(),
          (error) => error instanceof Anthropic.APIError &&
              error.error?.error?.type === 'overloaded_error');
    });
  });

  test('a stream cut mid-event fails the SDK instead of completing', async () => {
    await withProvider([{text: 'never finished', cut: 3}], async (provider) => {
      const stream = anthropicClient(provider).messages.stream(
          {model: 'c', max_tokens: 10, messages: [{role: 'user', content: 'x'}]});
      await assert.rejects(stream.finalMessage());
    });
  });

  test('GET /v1/models answers in Anthropic shape', async () => {
    await withProvider([], async (provider) => {
      const ids = [];
      for await (const model of anthropicClient(provider).models.list()) ids.push(model.id);
      assert.deepEqual(ids, ['claude-a']);
    }, {models: ['claude-a']});
  });

  test(
      'turns are consumed in order across requests, and a function turn sees the request',
      async () => {
        const seen = [];
        const turns = [
          {text: 'one'},
          (request) => {
            seen.push(request.body.messages.length);
            return {text: 'two'};
          }
        ];
        await withProvider(turns, async (provider) => {
          const client = anthropicClient(provider);
          const first = await client.messages.create(
              {model: 'c', max_tokens: 10, messages: [{role: 'user', content: 'x'}]});
          const second = await client.messages
                             .stream({
                               model: 'c',
                               max_tokens: 10,
                               messages: [
                                 {role: 'user', content: 'x'}, {role: 'assistant', content: 'one'},
                                 {role: 'user', content: 'y'}
                               ]
                             })
                             .finalMessage();
          assert.equal(first.content[0].text, 'one');
          assert.equal(second.content[0].text, 'two');
          assert.deepEqual(seen, [3]);
          assert.deepEqual(provider.requests.map((r) => r.turn_index), [0, 1]);
          assert.equal(provider.turnsConsumed(), 2);
        });
      });
});
