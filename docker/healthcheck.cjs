#!/usr/bin/env node
// The image's HEALTHCHECK: one script for every process, chosen by HEALTHCHECK_TARGET:
//   grpc://127.0.0.1:50051           grpc.health.v1.Health/Check for the whole server ("") → SERVING
//   http://127.0.0.1:8081/readyz     any 2xx
//   none                             always healthy (a process with nothing to ask)
// Exit 0 healthy, 1 not. No dependency beyond @grpc/grpc-js, which every service image has.
'use strict';

const TIMEOUT_MS = 2500;
const target = process.env.HEALTHCHECK_TARGET ?? 'none';

function done(healthy, reason) {
  if (!healthy) process.stderr.write(`unhealthy: ${reason}\n`);
  process.exit(healthy ? 0 : 1);
}

if (target === 'none') {
  done(true);
} else if (target.startsWith('http://')) {
  fetch(target, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then(
    (response) => done(response.ok, `HTTP ${response.status}`),
    (error) => done(false, error.message),
  );
} else if (target.startsWith('grpc://')) {
  const grpc = require('@grpc/grpc-js');
  // HealthCheckRequest{service: ""} is the empty message; HealthCheckResponse is field 1 (enum
  // status) as a varint: 0x08 0x01 means SERVING. Two bytes do not need a protobuf library.
  const client = new grpc.Client(target.slice('grpc://'.length), grpc.credentials.createInsecure());
  client.makeUnaryRequest(
    '/grpc.health.v1.Health/Check',
    () => Buffer.alloc(0),
    (bytes) => bytes,
    {},
    new grpc.Metadata(),
    { deadline: Date.now() + TIMEOUT_MS },
    (error, response) => {
      client.close();
      if (error) return done(false, error.message);
      const serving = response.length >= 2 && response[0] === 0x08 && response[1] === 0x01;
      done(serving, `status bytes ${response.toString('hex')}`);
    },
  );
} else {
  done(false, `HEALTHCHECK_TARGET not understood: ${target}`);
}
