import { type Actor } from '@strata/contracts';
import { invalidArgument, unauthenticated } from '@strata/grpc';

export const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requireActor(actor: Actor | undefined): Actor {
  if (!actor || actor.userId === '') throw unauthenticated('actor required');
  return actor;
}

/** Offset-based page tokens: enough for fakes, opaque to the gateway. */
export function pageWindow<Item>(
  items: readonly Item[],
  pageSize: number,
  pageToken: string,
): { page: Item[]; next: string } {
  if (pageSize < 0 || pageSize > 100) throw invalidArgument('page_size', 'at most 100');
  let offset = 0;
  if (pageToken !== '') {
    const decoded = Buffer.from(pageToken, 'base64url').toString('utf8');
    if (!/^o:\d{1,6}$/.test(decoded)) throw invalidArgument('page_token', 'malformed');
    offset = Number(decoded.slice(2));
  }
  const size = pageSize === 0 ? 20 : pageSize;
  const page = items.slice(offset, offset + size);
  const next =
    offset + size < items.length ? Buffer.from(`o:${offset + size}`).toString('base64url') : '';
  return { page, next };
}
