import {
  Server,
  ServerCredentials,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Role, UserServiceService, type userV1 } from '@strata/contracts';

export interface FakeUserService {
  readonly target: string;
  readonly users: Set<string>;
  close(): Promise<void>;
}

/**
 * A UserService that knows a set of ids, built from the generated definition (the payment service
 * may not import services/user). GetUser and BatchGetUsers answer; everything else is UNIMPLEMENTED.
 */
export async function startFakeUserService(
  initial: Iterable<string> = [],
): Promise<FakeUserService> {
  const users = new Set(initial);
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(UserServiceService)) {
    implementation[name] = (
      _call: unknown,
      callback: (error: { code: status; details: string }) => void,
    ) => callback({ code: status.UNIMPLEMENTED, details: 'not in the fake' });
  }
  const profile = (id: string): userV1.User => ({
    id,
    displayName: `user ${id.slice(0, 8)}`,
    bio: '',
    role: Role.MEMBER,
    createTime: new Date(0),
    updateTime: new Date(0),
  });
  implementation.getUser = (
    call: { request: userV1.GetUserRequest },
    callback: (
      error: { code: status; details: string } | null,
      response?: userV1.GetUserResponse,
    ) => void,
  ) => {
    if (!users.has(call.request.userId))
      callback({ code: status.NOT_FOUND, details: 'user not found' });
    else callback(null, { user: profile(call.request.userId) });
  };
  const server = new Server();
  server.addService(UserServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    target: `127.0.0.1:${port}`,
    users,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
