import { status } from '@grpc/grpc-js';
import { type UserServiceClient } from '@strata/contracts';
import { DomainError, type GrpcClient, isServiceError } from '@strata/grpc';

/** Answers "does this user exist?" for payee checks. */
export interface PayeeDirectory {
  exists(userId: string): Promise<boolean>;
}

const POSITIVE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Asks the user service (GetUser). Known payees are remembered for a minute in process: accounts
 * are not deleted in Strata, so a stale "exists" costs nothing, and hot payees (popular authors)
 * would otherwise cost a gRPC round trip per tip. "Not found" is never cached (a new author can
 * be tipped at once). Concurrent checks of one uncached payee share a single call (a burst of
 * tips to a new author, or 50 retries of one request, cost one GetUser, not 50).
 */
export class UserServicePayeeDirectory implements PayeeDirectory {
  private readonly known = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly users: GrpcClient<UserServiceClient>,
    private readonly timeoutMs = 1_000,
  ) {}

  async exists(userId: string): Promise<boolean> {
    const knownUntil = this.known.get(userId);
    if (knownUntil !== undefined && knownUntil > Date.now()) return true;
    const pending = this.inFlight.get(userId);
    if (pending) return pending;
    const lookup = this.lookup(userId).finally(() => this.inFlight.delete(userId));
    this.inFlight.set(userId, lookup);
    return lookup;
  }

  private async lookup(userId: string): Promise<boolean> {
    try {
      await this.users.getUser({ userId }, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (
        isServiceError(error) &&
        (error.code === status.NOT_FOUND || error.code === status.INVALID_ARGUMENT)
      )
        return false;
      throw new DomainError(status.UNAVAILABLE, 'user service unavailable, retry later', {
        cause: error,
      });
    }
    if (this.known.size >= MAX_ENTRIES) this.known.clear();
    this.known.set(userId, Date.now() + POSITIVE_TTL_MS);
    return true;
  }
}
