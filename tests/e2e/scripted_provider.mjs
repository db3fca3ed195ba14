// A scripted stand-in for a paid model provider, for joey's end-to-end tests.
//
// It speaks two wire protocols on loopback, byte for byte as the real services do:
//   - OpenAI Chat Completions: POST /v1/chat/completions (and /chat/completions),
//     GET /v1/models; SSE chunks `data: {...}` ending with `data: [DONE]`, the usage
//     chunk only when the request sets stream_options.include_usage.
//   - Anthropic Messages: POST /v1/messages, GET /v1/models (answered in Anthropic's
//     shape when the request carries x-api-key or anthropic-version); SSE events
//     message_start, content_block_start/delta/stop, ping, message_delta, message_stop.
//     POST /v1/messages/count_tokens answers {"input_tokens": N} (N: the length of the
//     JSON of system, messages and tools over 4, rounded up) without using a turn.
//   - OpenAI Responses: POST /v1/responses (and /responses); a response object, or SSE
//     events named like their data's type: response.created, response.in_progress,
//     output_item.added/done around a message's content_part.added, output_text.delta
//     pieces, output_text.done and content_part.done, or around a function call's
//     function_call_arguments.delta pieces and .done; then response.completed with usage
//     (input_tokens counting the cached ones). Errors in OpenAI's shape; a mid-stream
//     error is an `error` event.
//
// Every model request consumes the next scripted turn, in order, whatever its
// protocol. A turn is an object (or a function of the recorded request returning
// one) with any of:
//   text                 assistant text, streamed in `text_pieces` pieces (default 3)
//   tool_calls           [{ name, arguments, invalid_json? }]: arguments is an object
//                        (serialised) or a raw string (sent as is)
//   split                pieces each tool call's arguments JSON is cut into (default 3),
//                        every piece in its own SSE event
//   usage                { input, output, cache_read, cache_write }. `input` is uncached
//                        input; OpenAI's prompt_tokens is input + cache_read (OpenAI
//                        reports no cache writes, so cache_write is dropped there)
//   finish_reason        override: OpenAI "stop"/"tool_calls"/"length", Anthropic
//                        "end_turn"/"tool_use"/"max_tokens" (default from the content)
//   status, error, message, headers, body
//                        answer with an HTTP error in the protocol's real error shape.
//                        `error` names the kind (rate_limit, server, auth,
//                        model_not_found, context_length, overloaded, bad_request);
//                        without it the kind follows `status`. `message` replaces the
//                        default message, `body` the whole body, `headers` are added
//                        (e.g. { 'retry-after': '0' }).
//   cut                  true or N: after N SSE events (default 2) write half of the
//                        next event and destroy the socket
//   invalid_json_arguments  every tool call's argument pieces join into invalid JSON
//   chunk_delay_ms       wait this long before each SSE event
//   hold                 a Promise: after the first SSE event, wait for it before the rest
//                        (a stream held open for as long as a test needs)
//   stream: false        answer with one JSON body even though streaming was asked
//   midstream_error      true or { type, message }: after the first events send the
//                        protocol's in-stream error (Anthropic `event: error`, OpenAI
//                        a `data: {"error": ...}` chunk) and end the stream
// When the script runs out the server answers 500 saying so.
//
// Every request (model calls, GET /v1/models, unknown paths) is recorded in
// `requests` as { method, path, query (the text after "?", or ''), headers (lower-case
// names), body (parsed JSON, or the raw text when it is not JSON), protocol, turn_index,
// tool_calls (what the answer carried: [{ id, name, arguments (the JSON text sent) }]),
// closed_early (the connection closed before the answer was complete) }.

import {randomBytes} from 'node:crypto';
import http from 'node:http';

const kAlphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomToken(length) {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += kAlphanumeric[byte % kAlphanumeric.length];
  return out;
}

export const ids = {
  openaiCompletion: () => `chatcmpl-${randomToken(29)}`,
  openaiResponse: () => `resp_${randomToken(48)}`,
  openaiResponseItem: (prefix) => `${prefix}_${randomToken(48)}`,
  openaiToolCall: () => `call_${randomToken(24)}`,
  anthropicMessage: () => `msg_01${randomToken(22)}`,
  anthropicToolUse: () => `toolu_01${randomToken(22)}`,
  request: () => `req_${randomToken(24)}`,
};

// Cuts `text` into `count` pieces on code point boundaries (never inside a
// surrogate pair, so every piece is valid UTF-8 on the wire). Empty text gives [].
export function splitIntoPieces(text, count) {
  const points = Array.from(text);
  if (points.length === 0) return [];
  const pieces = [];
  const n = Math.max(1, Math.min(count, points.length));
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * points.length) / n);
    const end = Math.floor(((i + 1) * points.length) / n);
    pieces.push(points.slice(start, end).join(''));
  }
  return pieces;
}

function argumentsText(call, turn) {
  let text =
      typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {});
  if (turn.invalid_json_arguments || call.invalid_json) {
    // An object that never closes, with a dangling key: no JSON parser accepts it.
    text = text.replace(/}\s*$/, '') + ', "unterminated';
  }
  return text;
}

function normaliseUsage(usage) {
  return {
    input: usage?.input ?? 25,
    output: usage?.output ?? 12,
    cache_read: usage?.cache_read ?? 0,
    cache_write: usage?.cache_write ?? 0,
  };
}

function openaiUsage(usage) {
  const u = normaliseUsage(usage);
  const prompt = u.input + u.cache_read;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: {cached_tokens: u.cache_read, audio_tokens: 0},
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function anthropicUsage(usage) {
  const u = normaliseUsage(usage);
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cache_write,
    cache_read_input_tokens: u.cache_read,
    output_tokens: u.output,
    service_tier: 'standard',
  };
}

// ---------------------------------------------------------------------------
// Error bodies

const kStatusOfKind = {
  rate_limit: 429,
  server: 500,
  auth: 401,
  model_not_found: 404,
  context_length: 400,
  overloaded: 529,
  bad_request: 400,
};

function kindOfStatus(status) {
  switch (status) {
    case 429:
      return 'rate_limit';
    case 401:
      return 'auth';
    case 404:
      return 'model_not_found';
    case 400:
      return 'bad_request';
    case 503:
    case 529:
      return 'overloaded';
    default:
      return 'server';
  }
}

function openaiErrorBody(kind, model, message) {
  const errors = {
    rate_limit: {
      message: `Rate limit reached for ${model} on requests per min (RPM): ` +
          'Limit 3, Used 3, Requested 1. Please try again in 20s.',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
    server: {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    },
    auth: {
      message: 'Incorrect API key provided. You can find your API key in your account settings.',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    },
    model_not_found: {
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    },
    context_length: {
      message: 'This model\'s maximum context length is 128000 tokens. However, your messages ' +
          'resulted in 131072 tokens. Please reduce the length of the messages.',
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
    overloaded: {
      message: 'The engine is currently overloaded, please try again later.',
      type: 'server_error',
      param: null,
      code: null,
    },
    bad_request: {
      message: 'Invalid request.',
      type: 'invalid_request_error',
      param: null,
      code: null,
    },
  };
  const error = {...(errors[kind] ?? errors.server)};
  if (message) error.message = message;
  return {error};
}

function anthropicErrorBody(kind, model, message, requestId) {
  const errors = {
    rate_limit:
        ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
    server: ['api_error', 'Internal server error'],
    auth: ['authentication_error', 'invalid x-api-key'],
    model_not_found: ['not_found_error', `model: ${model}`],
    context_length: ['invalid_request_error', 'prompt is too long: 208310 tokens > 200000 maximum'],
    overloaded: ['overloaded_error', 'Overloaded'],
    bad_request: ['invalid_request_error', 'Invalid request.'],
  };
  const [type, defaultMessage] = errors[kind] ?? errors.server;
  return {type: 'error', error: {type, message: message ?? defaultMessage}, request_id: requestId};
}

// ---------------------------------------------------------------------------
// Response writers

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Writes SSE events one by one, honouring chunk_delay_ms, cut and client
// disconnects. `events` are complete SSE event strings ("...\n\n").
async function writeEvents(res, events, turn) {
  const delay = turn.chunk_delay_ms ?? 0;
  const cutAfter = turn.cut === true ? 2 : typeof turn.cut === 'number' ? turn.cut : null;
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed || res.writableEnded) return;
    if (delay > 0) await sleep(delay);
    if (i === 1 && turn.hold) await turn.hold;
    if (res.destroyed) return;
    if (cutAfter !== null && i === Math.min(cutAfter, events.length - 1)) {
      const event = events[i];
      const half = event.slice(0, Math.max(1, Math.floor(event.length / 2)));
      await new Promise((resolve) => res.write(half, resolve));
      res.socket?.destroy();
      return;
    }
    await new Promise((resolve) => res.write(events[i], resolve));
  }
  if (!res.destroyed) res.end();
}

function sseHeaders(extra) {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...extra,
  };
}

function midstreamError(turn) {
  return typeof turn.midstream_error === 'object' ? turn.midstream_error : {};
}

// --- OpenAI ---

function openaiToolCall(call) {
  return {id: call.id, type: 'function', function: {name: call.name, arguments: call.arguments}};
}

function openaiMessage(turn, toolCalls) {
  const message = {role: 'assistant', content: turn.text ?? null, refusal: null, annotations: []};
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map(openaiToolCall);
  }
  return message;
}

function openaiFinishReason(turn, toolCalls) {
  return turn.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
}

function openaiCompletionBody(turn, model, toolCalls) {
  return {
    id: ids.openaiCompletion(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: openaiMessage(turn, toolCalls),
        logprobs: null,
        finish_reason: openaiFinishReason(turn, toolCalls),
      },
    ],
    usage: openaiUsage(turn.usage),
    service_tier: 'default',
    system_fingerprint: 'fp_scripted',
  };
}

function openaiStreamEvents(turn, model, toolCalls, includeUsage) {
  const id = ids.openaiCompletion();
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices, extra = {}) => {
    const body = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: 'fp_scripted',
      choices
    };
    if (includeUsage) body.usage = null;
    return `data: ${JSON.stringify({...body, ...extra})}\n\n`;
  };
  const delta = (d, finishReason = null) => {
    return [{index: 0, delta: d, logprobs: null, finish_reason: finishReason}];
  };

  const events = [];
  events.push(chunk(delta({role: 'assistant', content: turn.text ? '' : null, refusal: null})));
  for (const piece of splitIntoPieces(turn.text ?? '', turn.text_pieces ?? 3)) {
    events.push(chunk(delta({content: piece})));
  }
  if (turn.midstream_error) {
    const e = midstreamError(turn);
    events.push(`data: ${JSON.stringify({
      error: {
        message:
            e.message ?? 'The server had an error while processing your request. Sorry about that!',
        type: e.type ?? 'server_error',
        param: null,
        code: e.code ?? null
      }
    })}\n\n`);
    return events;
  }
  toolCalls.forEach((call, index) => {
    events.push(chunk(delta({
      tool_calls:
          [{index, id: call.id, type: 'function', function: {name: call.name, arguments: ''}}]
    })));
    for (const piece of splitIntoPieces(call.arguments, turn.split ?? 3)) {
      events.push(chunk(delta({tool_calls: [{index, function: {arguments: piece}}]})));
    }
  });
  events.push(chunk(delta({}, openaiFinishReason(turn, toolCalls))));
  if (includeUsage) {
    events.push(chunk([], {usage: openaiUsage(turn.usage)}));
  }
  events.push('data: [DONE]\n\n');
  return events;
}

// --- Anthropic ---

function anthropicStopReason(turn, toolCalls) {
  return turn.finish_reason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn');
}

function parsedInput(call) {
  try {
    return JSON.parse(call.arguments);
  } catch {
    // Messages carries tool input as an object; invalid JSON cannot be represented
    // in a non-streamed body, so the raw text goes out as a string (malformed).
    return call.arguments;
  }
}

function anthropicMessageBody(turn, model, toolCalls) {
  const content = [];
  if (turn.text) content.push({type: 'text', text: turn.text});
  for (const call of toolCalls) {
    content.push({type: 'tool_use', id: call.id, name: call.name, input: parsedInput(call)});
  }
  return {
    id: ids.anthropicMessage(),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: anthropicStopReason(turn, toolCalls),
    stop_sequence: null,
    usage: anthropicUsage(turn.usage),
  };
}

function anthropicStreamEvents(turn, model, toolCalls) {
  const event = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const usage = anthropicUsage(turn.usage);
  const events = [];
  events.push(event('message_start', {
    type: 'message_start',
    message: {
      id: ids.anthropicMessage(),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {...usage, output_tokens: 1},
    },
  }));
  let index = 0;
  let pinged = false;
  const pingOnce = () => {
    if (!pinged) events.push(event('ping', {type: 'ping'}));
    pinged = true;
  };
  if (turn.text) {
    events.push(event(
        'content_block_start',
        {type: 'content_block_start', index, content_block: {type: 'text', text: ''}}));
    pingOnce();
    for (const piece of splitIntoPieces(turn.text, turn.text_pieces ?? 3)) {
      events.push(event(
          'content_block_delta',
          {type: 'content_block_delta', index, delta: {type: 'text_delta', text: piece}}));
    }
    events.push(event('content_block_stop', {type: 'content_block_stop', index}));
    index++;
  }
  if (turn.midstream_error) {
    const e = midstreamError(turn);
    events.push(event('error', {
      type: 'error',
      error: {type: e.type ?? 'overloaded_error', message: e.message ?? 'Overloaded'}
    }));
    return events;
  }
  for (const call of toolCalls) {
    events.push(event('content_block_start', {
      type: 'content_block_start',
      index,
      content_block: {type: 'tool_use', id: call.id, name: call.name, input: {}}
    }));
    pingOnce();
    events.push(event(
        'content_block_delta',
        {type: 'content_block_delta', index, delta: {type: 'input_json_delta', partial_json: ''}}));
    for (const piece of splitIntoPieces(call.arguments, turn.split ?? 3)) {
      events.push(event('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: {type: 'input_json_delta', partial_json: piece}
      }));
    }
    events.push(event('content_block_stop', {type: 'content_block_stop', index}));
    index++;
  }
  pingOnce();
  events.push(event('message_delta', {
    type: 'message_delta',
    delta: {stop_reason: anthropicStopReason(turn, toolCalls), stop_sequence: null},
    usage: {output_tokens: usage.output_tokens},
  }));
  events.push(event('message_stop', {type: 'message_stop'}));
  return events;
}

// --- OpenAI Responses ---

function responsesUsage(usage) {
  const u = normaliseUsage(usage);
  const input = u.input + u.cache_read;
  return {
    input_tokens: input,
    input_tokens_details: {cached_tokens: u.cache_read},
    output_tokens: u.output,
    output_tokens_details: {reasoning_tokens: 0},
    total_tokens: input + u.output,
  };
}

// The output items of a turn, complete: a message with the text, then one function call
// per tool call.
function responsesOutput(turn, toolCalls, itemIds) {
  const output = [];
  if (turn.text) {
    output.push({
      id: itemIds.message,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{type: 'output_text', text: turn.text, annotations: [], logprobs: []}],
    });
  }
  toolCalls.forEach((call, index) => {
    output.push({
      id: itemIds.calls[index],
      type: 'function_call',
      status: 'completed',
      arguments: call.arguments,
      call_id: call.id,
      name: call.name,
    });
  });
  return output;
}

function responsesObject(id, model, status, output, usage) {
  return {
    id,
    object: 'response',
    created_at: 1735689600,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: {effort: null, summary: null},
    store: false,
    temperature: 1.0,
    text: {format: {type: 'text'}},
    tool_choice: 'auto',
    tools: [],
    top_p: 1.0,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: {},
  };
}

function responsesItemIds(toolCalls) {
  return {message: ids.openaiResponseItem('msg'), calls: toolCalls.map(() => ids.openaiResponseItem('fc'))};
}

function responsesBody(turn, model, toolCalls) {
  const output = responsesOutput(turn, toolCalls, responsesItemIds(toolCalls));
  return responsesObject(ids.openaiResponse(), model, 'completed', output, responsesUsage(turn.usage));
}

function responsesStreamEvents(turn, model, toolCalls) {
  let sequence = 0;
  const event = (type, data) =>
      `event: ${type}\ndata: ${JSON.stringify({type, sequence_number: sequence++, ...data})}\n\n`;
  const id = ids.openaiResponse();
  const itemIds = responsesItemIds(toolCalls);
  const complete = responsesOutput(turn, toolCalls, itemIds);
  const events = [];
  events.push(event('response.created', {response: responsesObject(id, model, 'in_progress', [], null)}));
  events.push(event('response.in_progress', {response: responsesObject(id, model, 'in_progress', [], null)}));
  let outputIndex = 0;
  if (turn.text) {
    const item = complete[0];
    const part = {type: 'output_text', text: '', annotations: [], logprobs: []};
    events.push(event('response.output_item.added',
                      {output_index: outputIndex, item: {...item, status: 'in_progress', content: []}}));
    events.push(event('response.content_part.added',
                      {item_id: item.id, output_index: outputIndex, content_index: 0, part}));
    for (const piece of splitIntoPieces(turn.text, turn.text_pieces ?? 3)) {
      events.push(event('response.output_text.delta',
                        {item_id: item.id, output_index: outputIndex, content_index: 0, delta: piece, logprobs: []}));
    }
    events.push(event('response.output_text.done',
                      {item_id: item.id, output_index: outputIndex, content_index: 0, text: turn.text, logprobs: []}));
    events.push(event('response.content_part.done',
                      {item_id: item.id, output_index: outputIndex, content_index: 0, part: item.content[0]}));
    events.push(event('response.output_item.done', {output_index: outputIndex, item}));
    outputIndex++;
  }
  if (turn.midstream_error) {
    const e = midstreamError(turn);
    events.push(event('error', {code: e.type ?? 'server_error', message: e.message ?? 'The server had an error.', param: null}));
    return events;
  }
  toolCalls.forEach((call, index) => {
    const item = complete[outputIndex];
    events.push(event('response.output_item.added',
                      {output_index: outputIndex, item: {...item, status: 'in_progress', arguments: ''}}));
    for (const piece of splitIntoPieces(call.arguments, turn.split ?? 3)) {
      events.push(event('response.function_call_arguments.delta',
                        {item_id: itemIds.calls[index], output_index: outputIndex, delta: piece}));
    }
    events.push(event('response.function_call_arguments.done',
                      {item_id: itemIds.calls[index], output_index: outputIndex, arguments: call.arguments}));
    events.push(event('response.output_item.done', {output_index: outputIndex, item}));
    outputIndex++;
  });
  events.push(event('response.completed',
                    {response: responsesObject(id, model, 'completed', complete, responsesUsage(turn.usage))}));
  return events;
}

// ---------------------------------------------------------------------------
// Server

function protocolOf(method, path, headers) {
  if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions'))
    return 'openai';
  if (method === 'POST' && (path === '/v1/messages' || path === '/messages')) return 'anthropic';
  if (method === 'POST' && (path === '/v1/responses' || path === '/responses')) return 'responses';
  if (method === 'POST' && (path === '/v1/messages/count_tokens' || path === '/messages/count_tokens')) {
    return 'anthropic_count_tokens';
  }
  if (method === 'GET' && (path === '/v1/models' || path === '/models')) {
    return headers['x-api-key'] !== undefined || headers['anthropic-version'] !== undefined ?
        'anthropic' :
        'openai';
  }
  return 'unknown';
}

function sendJson(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {'content-type': 'application/json', ...headers});
  res.end(text);
}

function modelList(protocol, models) {
  if (protocol === 'anthropic') {
    const data = models.map(
        (id) => ({type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z'}));
    return {data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null};
  }
  return {
    object: 'list',
    data: models.map((id) => ({id, object: 'model', created: 1735689600, owned_by: 'system'}))
  };
}

// Starts the server. Options: turns (the script), models (ids for GET /v1/models).
// Resolves to { url, requests, turnsConsumed(), close() }.
export async function startScriptedProvider({turns = [], models = ['scripted-model']} = {}) {
  const requests = [];
  let nextTurn = 0;

  async function handle(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body = raw;
    let bodyIsJson = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
        bodyIsJson = true;
      } catch {
        // Recorded as text; answered below with a 400.
      }
    }
    const [path, ...queryParts] = (req.url ?? '/').split('?');
    const query = queryParts.join('?');
    const protocol = protocolOf(req.method, path, req.headers);
    const record = {
      method: req.method,
      path,
      query,
      headers: {...req.headers},
      body,
      protocol,
      turn_index: null,
      tool_calls: []
    };
    requests.push(record);
    // Whether the exchange ended before the whole answer was written (the client — or a
    // proxy in front of this server — went away mid-answer).
    record.closed_early = false;
    res.on('close', () => {
      record.closed_early = !res.writableFinished;
    });
    const requestId = ids.request();
    const anthropic = protocol === 'anthropic' || protocol === 'anthropic_count_tokens';
    const idHeader = anthropic ? {'request-id': requestId} : {'x-request-id': requestId};
    const errorBody = (kind, model, message) => anthropic ?
        anthropicErrorBody(kind, model, message, requestId) :
        openaiErrorBody(kind, model, message);

    if (protocol === 'unknown') {
      sendJson(
          res, 404,
          openaiErrorBody('bad_request', '', `Unknown request URL: ${req.method} ${path}.`),
          idHeader);
      return;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, modelList(protocol, models), idHeader);
      return;
    }
    const model = bodyIsJson && typeof body.model === 'string' ? body.model : 'unknown-model';
    if (!bodyIsJson || typeof body !== 'object' || body === null) {
      const message = 'We could not parse the JSON body of your request.';
      sendJson(res, 400, errorBody('bad_request', model, message), idHeader);
      return;
    }
    if (protocol === 'anthropic_count_tokens') {
      if (!Array.isArray(body.messages)) {
        sendJson(res, 400, errorBody('bad_request', model, 'messages: Field required'), idHeader);
        return;
      }
      const counted = JSON.stringify({system: body.system, messages: body.messages, tools: body.tools});
      sendJson(res, 200, {input_tokens: Math.ceil(counted.length / 4)}, idHeader);
      return;
    }
    if (nextTurn >= turns.length) {
      const used = requests.filter((r) => r.method === 'POST').length;
      const message = `scripted provider: the script has no turn left (${turns.length} turns, ` +
          `request ${used})`;
      sendJson(res, 500, errorBody('server', model, message), idHeader);
      return;
    }
    record.turn_index = nextTurn;
    let turn = turns[nextTurn++];
    if (typeof turn === 'function') turn = (await turn(record)) ?? {};

    if (turn.status !== undefined || turn.error !== undefined) {
      const kind = turn.error ?? kindOfStatus(turn.status);
      const status = turn.status ?? kStatusOfKind[kind] ?? 500;
      const answer = turn.body ?? errorBody(kind, model, turn.message);
      sendJson(res, status, answer, {...idHeader, ...turn.headers});
      return;
    }

    const makeId = protocol === 'anthropic' ? ids.anthropicToolUse : ids.openaiToolCall;
    const toolCalls = (turn.tool_calls ?? []).map((call) => {
      return {id: call.id ?? makeId(), name: call.name, arguments: argumentsText(call, turn)};
    });
    record.tool_calls = toolCalls;
    const streaming = body.stream === true && turn.stream !== false;
    if (!streaming) {
      const answer = protocol === 'anthropic' ? anthropicMessageBody(turn, model, toolCalls) :
          protocol === 'responses'            ? responsesBody(turn, model, toolCalls) :
                                                openaiCompletionBody(turn, model, toolCalls);
      sendJson(res, 200, answer, {...idHeader, ...turn.headers});
      return;
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const events = protocol === 'anthropic' ? anthropicStreamEvents(turn, model, toolCalls) :
        protocol === 'responses'            ? responsesStreamEvents(turn, model, toolCalls) :
                                              openaiStreamEvents(turn, model, toolCalls, includeUsage);
    res.writeHead(200, sseHeaders({...idHeader, ...turn.headers}));
    res.flushHeaders();
    await writeEvents(res, events, turn);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = `scripted provider crashed: ${error.message}`;
      sendJson(res, 500, openaiErrorBody('server', '', message));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const {port} = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    turnsConsumed: () => nextTurn,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
