// A scripted stand-in for a PostHog-compatible telemetry host, for joey's end-to-end
// tests. It listens on loopback, answers every request like PostHog's capture
// endpoints do (200 {"status": 1}, or the status the test sets) and records it in
// full: { method, path, headers (lower-case names), rawBody (the bytes as text),
// body (parsed JSON, or null when the body is not JSON) }. A gzip-encoded body is
// recorded decompressed.
//
// startTelemetryServer({ status }) resolves to { url, port, requests, batches(),
// setStatus(code), close() }; batches() is the parsed bodies of POST /batch/.

import http from 'node:http';
import {gunzipSync} from 'node:zlib';

export async function startTelemetryServer({status = 200, port = 0} = {}) {
  const requests = [];
  let answerStatus = status;
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let bytes = Buffer.concat(chunks);
      // Some PostHog clients gzip their batches; record what they meant to send.
      if (request.headers['content-encoding'] === 'gzip') {
        try {
          bytes = gunzipSync(bytes);
        } catch {
          // keep the raw bytes
        }
      }
      const rawBody = bytes.toString('utf8');
      let body = null;
      try {
        body = rawBody === '' ? null : JSON.parse(rawBody);
      } catch {
        body = null;
      }
      requests.push({
        method: request.method,
        path: request.url,
        headers: {...request.headers},
        rawBody,
        body,
      });
      const ok = answerStatus >= 200 && answerStatus < 300;
      response.writeHead(answerStatus, {'content-type': 'application/json'});
      response.end(JSON.stringify(ok ? {status: 1} : {type: 'validation_error', code: 'invalid'}));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actualPort = server.address().port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    requests,
    batches: () =>
        requests.filter((r) => r.method === 'POST' && r.path === '/batch/').map((r) => r.body),
    setStatus: (code) => {
      answerStatus = code;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
