import { status } from '@grpc/grpc-js';
import { type EmailRecipient } from '@strata/jobs';
import { type userV1 } from '@strata/contracts';
import { isServiceError, statusName, type UnaryCallOptions } from '@strata/grpc';
import { PermanentJobError } from '@strata/queue';

/** Where an email goes. */
export interface ResolvedRecipient {
  readonly email: string;
  /** For the greeting; unknown for raw addresses. */
  readonly displayName?: string | undefined;
}

/** The one user-service call this worker makes (a `createGrpcClient(UserServiceClient)` fits). */
export interface UserContactClient {
  getUserContact(
    request: userV1.GetUserContactRequest,
    options?: UnaryCallOptions,
  ): Promise<userV1.GetUserContactResponse>;
}

// Deliberately plain: the address was validated when the account was created (or by the job
// schema); this only catches what would make an SMTP envelope unusable.
const ADDRESS_PATTERN = /^[^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+\.[^\s@<>()[\],;:"\\]+$/;

export function isUsableAddress(address: string): boolean {
  return address.length <= 254 && ADDRESS_PATTERN.test(address);
}

// Retrying cannot make these succeed: the user is gone, or the request itself is wrong.
const PERMANENT_CODES = new Set<status>([status.NOT_FOUND, status.INVALID_ARGUMENT]);

/** Turns `toUserId` into an address through the user service; `toEmail` is used as is. */
export class RecipientResolver {
  constructor(
    private readonly users: UserContactClient,
    private readonly deadlineMs: number,
  ) {}

  async resolve(recipient: EmailRecipient): Promise<ResolvedRecipient> {
    const resolved =
      recipient.toEmail !== undefined
        ? { email: recipient.toEmail }
        : await this.lookUp(recipient.toUserId);
    if (!isUsableAddress(resolved.email)) {
      throw new PermanentJobError('invalid recipient address');
    }
    return resolved;
  }

  private async lookUp(userId: string): Promise<ResolvedRecipient> {
    try {
      const contact = await this.users.getUserContact({ userId }, { timeoutMs: this.deadlineMs });
      return { email: contact.email, displayName: contact.displayName || undefined };
    } catch (error) {
      if (isServiceError(error) && PERMANENT_CODES.has(error.code)) {
        throw new PermanentJobError(`user ${userId}: ${statusName(error.code)}`, { cause: error });
      }
      // UNAVAILABLE, DEADLINE_EXCEEDED, …: the user service will be back; the job retries.
      const code = isServiceError(error) ? statusName(error.code) : 'error';
      throw new Error(`user service lookup failed (${code}), will retry`, { cause: error });
    }
  }
}
