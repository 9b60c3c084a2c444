import { createServer, type Server } from 'node:net';

const HOST = '127.0.0.1';

/**
 * `count` TCP ports on 127.0.0.1 that were free a moment ago (the OS picks them). They are held
 * open together while chosen, so no two are the same.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

/** One TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

// Linux hands out ports for `listen(0)` and outgoing connections from 32768–60999 by default
// (net.ipv4.ip_local_port_range). A port below that range is never given to another process
// that asks the OS for "any free port".
const STABLE_PORT_MIN = 20_000;
const STABLE_PORT_MAX = 32_767;

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1 outside the OS's ephemeral range, for a server a test stops and
 * starts again on the same port: while it is down, a port from {@link freePort} may be handed to
 * any other process asking for a free port (a suite running in parallel), and the restart would
 * then meet someone else's server there.
 */
export async function stablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port =
      STABLE_PORT_MIN + Math.floor(Math.random() * (STABLE_PORT_MAX - STABLE_PORT_MIN + 1));
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port in ${STABLE_PORT_MIN}-${STABLE_PORT_MAX} after 100 tries`);
}
