#!/usr/bin/env node
// tests/s3/server.js - a real S3-compatible server on loopback for the
// integration tests: s3rver (the @20minutes fork, which checks AWS
// Signature V4 on Authorization headers and presigned URLs) storing its
// objects under --dir. The access key S3RVER with secret S3RVER is the one
// account it knows.
//
// Usage: node --openssl-legacy-provider server.js --dir DIR [--port N] [--bucket NAME]...
//                       [--port-file FILE] [--parent-pid PID]
//   --port 0 (the default) takes a free port; the port in use is written
//   to --port-file (whole, via a rename) once the server answers, and
//   printed as "s3rver listening on 127.0.0.1:PORT". With --parent-pid the
//   server exits when that process is gone, so a killed test leaves no
//   server behind. SIGTERM/SIGINT close it.
// --openssl-legacy-provider: s3rver encrypts its ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 keeps in its legacy
// provider; without it every listing answers 500 InternalError.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const S3rver = require('@20minutes/s3rver');

try {
  crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch (e) {
  process.stderr.write('server.js: DES is unavailable (s3rver needs it for ' +
    'continuation tokens): run node with --openssl-legacy-provider\n');
  process.exit(1);
}

// s3rver escapes text with he.escape in its tagValueProcessor, and the
// fast-xml-parser 5 builder it pulls in escapes again by default, so a key
// "a&b" is listed as "a&amp;amp;b" (real S3 escapes once). Undo the second
// pass, but only when the probe shows it happening: the server stays the
// real thing, with its listings as S3 writes them.
(function fixDoubleEscaping() {
  const s3rverDir = path.dirname(require.resolve('@20minutes/s3rver/package.json'));
  const { XMLBuilder } = require(require.resolve('fast-xml-parser', { paths: [s3rverDir] }));
  const probe = () => new XMLBuilder({
    tagValueProcessor: (_name, v) => String(v).replace(/&/g, '&amp;'),
  }).build({ K: 'a&b' });
  if (probe() === '<K>a&amp;amp;b</K>') {
    XMLBuilder.prototype.replaceEntitiesValue = (v) => v;
    if (probe() !== '<K>a&amp;b</K>') throw new Error('cannot fix s3rver XML escaping');
  }
})();

function usage(msg) {
  process.stderr.write(`server.js: ${msg}\nusage: node server.js --dir DIR ` +
    '[--port N] [--bucket NAME]... [--port-file FILE] [--parent-pid PID]\n');
  process.exit(2);
}

const opts = { port: 0, buckets: [], dir: '', portFile: '', parentPid: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const v = argv[i + 1];
  if (v === undefined) usage(`${a} needs a value`);
  i++;
  switch (a) {
    case '--port': opts.port = Number(v); break;
    case '--dir': opts.dir = v; break;
    case '--bucket': opts.buckets.push(v); break;
    case '--port-file': opts.portFile = v; break;
    case '--parent-pid': opts.parentPid = Number(v); break;
    default: usage(`unknown option ${a}`);
  }
}
if (!opts.dir) usage('--dir is required');
if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
fs.mkdirSync(opts.dir, { recursive: true });

const server = new S3rver({
  address: '127.0.0.1',
  port: opts.port,
  directory: path.resolve(opts.dir),
  silent: false,
  vhostBuckets: false,
  allowMismatchedSignatures: false,
  configureBuckets: opts.buckets.map((name) => ({ name })),
});

function stop(code) {
  if (server.httpServer) server.httpServer.closeAllConnections();
  server.close().catch(() => {}).finally(() => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));

server.run().then(({ address, port }) => {
  if (opts.portFile) {
    const tmp = `${opts.portFile}.tmp`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opts.portFile);
  }
  process.stdout.write(`s3rver listening on ${address}:${port}\n`);
  if (opts.parentPid > 0) {
    setInterval(() => {
      try {
        process.kill(opts.parentPid, 0);
      } catch (e) {
        if (e.code === 'ESRCH') stop(0);
      }
    }, 1000).unref();
  }
}, (err) => {
  process.stderr.write(`server.js: cannot start s3rver: ${err.stack || err}\n`);
  process.exit(1);
});
