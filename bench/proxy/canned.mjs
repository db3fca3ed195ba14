// The canned request and answers of the proxy benchmark (bench/proxy/run.mjs): an OpenAI
// chat completion, and the stream of the same answer as OpenAI sends it when usage is asked
// for (stream_options.include_usage, which joeyd adds): 20 chunk events each carrying
// "usage":null, a final usage-only chunk, then `data: [DONE]`.

const kId = 'chatcmpl-bench0000000000000000000000';
const kCreated = 1764115200;
const kModel = 'gpt-4o-mini-2024-07-18';
const kFingerprint = 'fp_bench0000';

// What a coding agent's turn looks like on the wire, kept small (about 1.5 KB).
export function chatRequest(stream) {
  return {
    model: 'gpt-4o-mini',
    messages: [
      {role: 'system', content: 'You are a careful coding assistant. Answer briefly. '.repeat(12)},
      {role: 'user', content: 'Read src/main.cpp and explain what the function parse_args returns when no flag is given. '.repeat(6)},
    ],
    temperature: 0,
    ...(stream ? {stream: true} : {}),
  };
}

const kWords = ['It', ' returns', ' the', ' default', ' options', ':', ' no', ' verbose', ' output', ',',
                ' the', ' current', ' directory', ' as', ' the', ' workspace', ',', ' and', ' an'];

export function cannedCompletion(marker) {
  return JSON.stringify({
    id: kId,
    object: 'chat.completion',
    created: kCreated,
    model: kModel,
    choices: [{
      index: 0,
      message: {role: 'assistant', content: `${kWords.join('')} empty task list. (${marker})`, refusal: null},
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: {prompt_tokens: 412, completion_tokens: 21, total_tokens: 433,
            prompt_tokens_details: {cached_tokens: 0, audio_tokens: 0},
            completion_tokens_details: {reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0}},
    system_fingerprint: kFingerprint,
  }) + '\n';
}

function chunk(delta, finishReason) {
  return {
    id: kId, object: 'chat.completion.chunk', created: kCreated, model: kModel, system_fingerprint: kFingerprint,
    choices: [{index: 0, delta, logprobs: null, finish_reason: finishReason}], usage: null,
  };
}

export function firstStreamChunk() {
  return `data: ${JSON.stringify(chunk({role: 'assistant', content: '', refusal: null}, null))}\n\n`;
}

export function cannedStream(marker) {
  const events = [firstStreamChunk()];
  for (const word of kWords) events.push(`data: ${JSON.stringify(chunk({content: word}, null))}\n\n`);
  events.push(`data: ${JSON.stringify(chunk({content: ` empty task list. (${marker})`}, 'stop'))}\n\n`);
  events.push(`data: ${JSON.stringify({
    id: kId, object: 'chat.completion.chunk', created: kCreated, model: kModel, system_fingerprint: kFingerprint,
    choices: [], usage: {prompt_tokens: 412, completion_tokens: 21, total_tokens: 433},
  })}\n\n`);
  events.push('data: [DONE]\n\n');
  return events.join('');
}
