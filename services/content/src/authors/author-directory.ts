import { type UserServiceClient } from '@strata/contracts';
import { type GrpcClient } from '@strata/grpc';
import { type Logger } from '@strata/logger';

/** Display names by user id, from one user-service call per page. */
export interface AuthorDirectory {
  /** One BatchGetUsers call for all distinct ids (none when `ids` is empty). Unknown ids map to ''. */
  displayNames(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, string>>;
}

/**
 * Author names are the user service's data, so they are fetched per page rather than copied into
 * this service's tables or caches, where a renamed user would stay stale. If the user service
 * fails, pages degrade to empty names (logged) instead of failing: the content is still right.
 */
export class GrpcAuthorDirectory implements AuthorDirectory {
  constructor(
    private readonly users: GrpcClient<UserServiceClient>,
    private readonly logger: Logger,
    private readonly deadlineMs: number,
  ) {}

  async displayNames(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const names = new Map<string, string>(unique.map((id) => [id, '']));
    if (unique.length === 0) return names;
    try {
      const response = await this.users.batchGetUsers(
        { userIds: unique },
        { timeoutMs: this.deadlineMs, ...(signal ? { signal } : {}) },
      );
      for (const user of response.users) names.set(user.id, user.displayName);
    } catch (error) {
      this.logger.warn(
        { err: error, count: unique.length },
        'author names unavailable; serving without them',
      );
    }
    return names;
  }
}
