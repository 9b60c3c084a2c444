// Test helper (not built): the user service's GetUserContact served in-process over real gRPC.
import { randomUUID } from 'node:crypto';
import { status, type handleUnaryCall, type UntypedHandleCall } from '@grpc/grpc-js';
import { UserServiceService, type UserServiceServer } from '@strata/contracts';
import { createGrpcServer, DomainError, notFound, unary, type GrpcServer } from '@strata/grpc';
import { createLogger } from '@strata/logger';

export interface FakeUser {
  readonly email: string;
  readonly displayName: string;
}

export interface FakeUserServer {
  readonly target: string;
  readonly users: Map<string, FakeUser>;
  /** Adds a user and returns its id. */
  addUser(user: FakeUser): string;
  /** While true, every call fails with UNAVAILABLE. */
  unavailable: boolean;
  readonly calls: { count: number };
  close(): Promise<void>;
}

export async function startFakeUserServer(): Promise<FakeUserServer> {
  const users = new Map<string, FakeUser>();
  const calls = { count: 0 };
  const state = { unavailable: false };
  const server: GrpcServer = createGrpcServer({
    name: 'fake-user',
    logger: createLogger({ name: 'fake-user', level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    readiness: () => Promise.resolve(true),
  });
  // Everything but GetUserContact answers UNIMPLEMENTED, as a server of an older version would.
  const unimplemented: UntypedHandleCall = ((_call, callback) =>
    callback({ code: status.UNIMPLEMENTED, details: 'not in the fake' }, null)) as handleUnaryCall<
    unknown,
    unknown
  >;
  const implementation = Object.fromEntries(
    Object.keys(UserServiceService).map((method) => [method, unimplemented]),
  ) as unknown as UserServiceServer;
  implementation.getUserContact = unary(async (request) => {
    calls.count += 1;
    if (state.unavailable) throw new DomainError(status.UNAVAILABLE, 'user service down');
    const user = users.get(request.userId);
    if (!user) throw notFound('user not found');
    return Promise.resolve({
      email: user.email,
      displayName: user.displayName,
      emailVerified: true,
    });
  });
  server.addService(UserServiceService, implementation);
  const port = await server.start();
  return {
    target: `127.0.0.1:${port}`,
    users,
    calls,
    addUser(user) {
      const id = randomUUID();
      users.set(id, user);
      return id;
    },
    get unavailable() {
      return state.unavailable;
    },
    set unavailable(value: boolean) {
      state.unavailable = value;
    },
    close: () => server.shutdown({ graceMs: 1_000 }),
  };
}
