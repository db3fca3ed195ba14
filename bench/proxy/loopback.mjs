// Preloaded into the Portkey gateway (node --import) by bench/proxy/run.mjs: its
// start-server.js listens on every interface and has no flag for the address, and a
// benchmark listens only on 127.0.0.1. A listen() given a port but no host gets 127.0.0.1.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] !== 'string')) {
    args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !args[0].host && !args[0].path) {
    args[0] = {...args[0], host: '127.0.0.1'};
  }
  return listen.apply(this, args);
};
