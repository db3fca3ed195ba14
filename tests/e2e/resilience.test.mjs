// How `joey run` copes with a provider that is slow, silent, non-streaming or fails
// mid-stream: bounded timeouts, bounded retries, and a clear error when it gives up.

import assert from 'node:assert/strict';
import {describe, test} from 'node:test';

import {
  assertCompleted,
  assertFailed,
  complete,
  errorText,
  joeyMissing,
  kProtocols,
  modelRequests,
  runTask,
} from './helpers.mjs';

describe('resilience', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    describe(protocol, () => {
      test('slow chunks within the idle timeout still complete', async (t) => {
        const run = await runTask(t, protocol, {
          turns: [{...complete('slow but fine'), chunk_delay_ms: 150}],
          env: {JOEY_IDLE_TIMEOUT_MS: '2000'},
        });
        assertCompleted(run);
      });

      test('a stream that stalls past the idle timeout is retried, then fails naming the stall', async (t) => {
        const stalled = {...complete('never arrives'), chunk_delay_ms: 1500};
        const run = await runTask(t, protocol, {
          turns: [stalled, stalled, stalled, stalled],
          env: {JOEY_IDLE_TIMEOUT_MS: '400', JOEY_FIRST_BYTE_TIMEOUT_MS: '5000'},
        });
        assertFailed(run);
        assert.match(errorText(run), /stalled|no response/i);
        assert.equal(modelRequests(run.provider).length, 4, 'one try and three retries');
      });

      test('a stall then a healthy answer completes', async (t) => {
        const run = await runTask(t, protocol, {
          turns: [{...complete('late'), chunk_delay_ms: 1500}, complete('on time')],
          env: {JOEY_IDLE_TIMEOUT_MS: '400'},
        });
        assertCompleted(run);
        assert.equal(run.events.at(-1).result, 'on time');
      });

      test('a non-streaming answer to a streaming request is accepted', async (t) => {
        const run = await runTask(t, protocol, {
          turns: [{...complete('whole body'), stream: false}],
        });
        assertCompleted(run);
        assert.equal(run.events.at(-1).result, 'whole body');
      });

      test('an error in the middle of the stream is retried', async (t) => {
        const run = await runTask(t, protocol, {
          turns: [{text: 'partial', midstream_error: true}, complete('recovered')],
        });
        assertCompleted(run);
        assert.equal(modelRequests(run.provider).length, 2);
      });
    });
  }
});

describe('context management', {skip: joeyMissing}, () => {
  for (const protocol of kProtocols) {
    test(`${protocol}: a conversation near the context window is condensed and goes on`, async (t) => {
      const run = await runTask(t, protocol, {
        turns: [
          {tool_calls: [{name: 'list_files', arguments: {path: '.'}}], usage: {input: 9000, output: 10}},
          {text: 'SUMMARY: the task so far'},
          complete('finished after condensing'),
        ],
        env: {JOEY_CONTEXT_WINDOW_TOKENS: '10000'},
      });
      assertCompleted(run);
      const condensed = run.events.filter((event) => event.type === 'condensed');
      assert.equal(condensed.length, 1, run.result.output());
      assert.ok(condensed[0].tokens_before > 8000 && condensed[0].tokens_after < condensed[0].tokens_before);
      const requests = modelRequests(run.provider);
      assert.equal(requests.length, 3);
      assert.equal((requests[1].body.tools ?? []).length, 0, 'the summary request offers no tools');
      const last = JSON.stringify(requests[2].body.messages);
      assert.match(last, /SUMMARY: the task so far/);
      assert.match(last, /Update the greeting/, 'the task itself is kept');
    });
  }
});
