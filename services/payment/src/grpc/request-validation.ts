import { type Actor, Role } from '@strata/contracts';
import { invalidArgument, unauthenticated } from '@strata/grpc';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export interface AuthenticatedActor {
  readonly userId: string;
  readonly isAdmin: boolean;
}

/** The actor set by the gateway; every RPC here acts for a user. */
export function requireActor(actor: Actor | undefined): AuthenticatedActor {
  if (!actor || !isUuid(actor.userId)) throw unauthenticated('actor required');
  return { userId: actor.userId.toLowerCase(), isAdmin: actor.role === Role.ADMIN };
}

export function requireIdempotencyKey(key: string): string {
  if (!IDEMPOTENCY_KEY.test(key))
    throw invalidArgument('idempotency_key', 'expected 1 to 255 printable ASCII characters');
  return key;
}

export function requireUuid(field: string, value: string): string {
  if (value === '') throw invalidArgument(field, 'required');
  if (!isUuid(value)) throw invalidArgument(field, 'not a valid id');
  return value.toLowerCase();
}
