import {
  Server,
  ServerCredentials,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Role, UserServiceService, type userV1 } from '@strata/contracts';

/** An in-process UserService that answers BatchGetUsers from a map and counts the calls. */
export interface FakeUserService {
  readonly target: string;
  /** BatchGetUsers requests received, in order. */
  readonly calls: string[][];
  setUser(id: string, displayName: string): void;
  close(): Promise<void>;
}

export async function startFakeUserService(): Promise<FakeUserService> {
  const users = new Map<string, string>();
  const calls: string[][] = [];
  const server = new Server();
  const implementation: Partial<Record<string, unknown>> = {
    batchGetUsers: (
      call: { request: userV1.BatchGetUsersRequest },
      callback: (
        error: { code: number; details: string } | null,
        response?: userV1.BatchGetUsersResponse,
      ) => void,
    ) => {
      const ids = call.request.userIds;
      calls.push([...ids]);
      if (ids.length > 100) {
        callback({ code: status.INVALID_ARGUMENT, details: 'user_ids: at most 100' });
        return;
      }
      const unique = [...new Set(ids)];
      callback(null, {
        users: unique
          .filter((id) => users.has(id))
          .map((id) => ({
            id,
            displayName: users.get(id) ?? '',
            bio: '',
            role: Role.MEMBER,
            createTime: new Date(0),
            updateTime: new Date(0),
          })),
        notFoundUserIds: unique.filter((id) => !users.has(id)),
      });
    },
  };
  // Only BatchGetUsers is implemented; grpc-js answers UNIMPLEMENTED for the rest.
  server.addService(UserServiceService, implementation as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    target: `127.0.0.1:${port}`,
    calls,
    setUser: (id, displayName) => users.set(id, displayName),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
