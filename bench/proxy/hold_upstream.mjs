// The upstream for "memory per idle open stream" (bench/proxy/run.mjs): every request gets
// an event stream's headers and its first chunk, and then nothing — the stream stays open
// until the client goes. Listens on 127.0.0.1:PORT; exits by itself after 10 minutes.
//
//   node bench/proxy/hold_upstream.mjs PORT
import http from 'node:http';

import {firstStreamChunk} from './canned.mjs';

const port = Number(process.argv[2]);
const first = firstStreamChunk();
const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
    response.write(first);
  });
});
server.keepAliveTimeout = 300_000;
server.requestTimeout = 0;
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 600_000).unref();
process.on('SIGTERM', () => process.exit(0));
