import {
  type AddressInfo,
  type Server,
  type Socket,
  createConnection,
  createServer,
} from 'node:net';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port on which nothing listens: bound once by us, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await closeServer(server, new Set());
  return port;
}

export interface FakeServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never answers: a Redis that hangs before even the handshake. */
export async function startSilentServer(): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // read and discard
  });
  const port = await listen(server);
  return { port, close: () => closeServer(server, sockets) };
}

export type ProxyMode = 'forward' | 'stall' | 'down';

export interface RedisProxy extends FakeServer {
  /**
   * `forward`: pass bytes both ways. `stall`: hold replies (Redis received the commands but answers
   * late, as an overloaded server does; held replies are delivered on `forward`, so the client's
   * reply order stays intact). `down`: drop every connection and refuse new ones.
   */
  setMode(mode: ProxyMode): void;
}

/** A TCP proxy in front of the real Redis, to make it slow or unreachable on demand. */
export async function startRedisProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<RedisProxy> {
  let mode: ProxyMode = 'forward';
  const sockets = new Set<Socket>();
  const held: Array<{ client: Socket; chunk: Buffer }> = [];

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };

  const server = createServer((client) => {
    track(client);
    if (mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = createConnection({ port: targetPort, host: targetHost });
    track(upstream);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'stall') held.push({ client, chunk });
      else client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await listen(server);

  return {
    port,
    setMode(next) {
      mode = next;
      if (next === 'down') {
        held.length = 0;
        for (const socket of sockets) socket.destroy();
      }
      if (next === 'forward') {
        for (const { client, chunk } of held.splice(0)) {
          if (!client.destroyed) client.write(chunk);
        }
      }
    },
    close: () => closeServer(server, sockets),
  };
}
