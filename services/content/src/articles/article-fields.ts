import { invalidArgument, unauthenticated } from '@strata/grpc';
import { Role, type commonV1 } from '@strata/contracts';

// Limits from proto/content/v1/content.proto.
export const TITLE_MAX = 200;
export const BODY_MAX = 100_000;
export const SLUG_MAX = 100;
export const TAGS_MAX = 10;
export const TAG_MAX = 32;
export const QUERY_MAX = 200;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TAG_PATTERN = /^[a-z0-9-]{1,32}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The signed-in user a write is made for. */
export interface ActingUser {
  readonly userId: string;
  readonly isAdmin: boolean;
}

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** The actor, or UNAUTHENTICATED: every write needs one. */
export function requireActor(actor: commonV1.Actor | undefined): ActingUser {
  const user = optionalActor(actor);
  if (!user) throw unauthenticated('actor required');
  return user;
}

/** The actor if the request carries a usable one (reads work anonymously). */
export function optionalActor(actor: commonV1.Actor | undefined): ActingUser | undefined {
  if (!actor || !isUuid(actor.userId)) return undefined;
  return { userId: actor.userId.toLowerCase(), isAdmin: actor.role === Role.ADMIN };
}

/** Characters as a user counts them (code points), not UTF-16 units. */
function length(value: string): number {
  return [...value].length;
}

export function parseId(field: string, value: string): string {
  if (!isUuid(value)) throw invalidArgument(field, 'must be a UUID');
  return value.toLowerCase();
}

export function parseTitle(value: string): string {
  const title = value.trim();
  if (title.length === 0) throw invalidArgument('title', 'must not be empty');
  if (length(title) > TITLE_MAX)
    throw invalidArgument('title', `must be at most ${TITLE_MAX} characters`);
  return title;
}

export function parseBody(value: string): string {
  if (length(value) > BODY_MAX)
    throw invalidArgument('body', `must be at most ${BODY_MAX} characters`);
  return value;
}

export function parseSlug(value: string): string {
  if (value.length === 0 || value.length > SLUG_MAX || !SLUG_PATTERN.test(value)) {
    throw invalidArgument(
      'slug',
      `must be 1 to ${SLUG_MAX} characters of a-z and 0-9 in dash-separated groups`,
    );
  }
  if (isUuid(value)) throw invalidArgument('slug', 'must not look like a UUID');
  return value;
}

/** Lower-cased, de-duplicated, sorted. */
export function parseTags(values: readonly string[]): string[] {
  const tags = [...new Set(values.map((tag) => tag.trim().toLowerCase()))];
  if (tags.length > TAGS_MAX) throw invalidArgument('tags', `at most ${TAGS_MAX} tags`);
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag))
      throw invalidArgument(
        'tags',
        `each tag must be 1 to ${TAG_MAX} characters of a-z, 0-9 and -`,
      );
  }
  return tags.sort();
}

/** A slug derived from a title: ASCII-folded, dash-separated, never empty or UUID-shaped. */
export function slugFromTitle(title: string): string {
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/g, '');
  return base === '' || isUuid(base) ? 'article' : base;
}

export function parsePageSize(value: number): number {
  if (value < 0 || value > MAX_PAGE_SIZE) {
    throw invalidArgument('page_size', `must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return value === 0 ? DEFAULT_PAGE_SIZE : value;
}
