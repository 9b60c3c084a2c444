import { createLogger } from '@strata/logger';
import { GrpcAuthorDirectory, type UserNamesClient } from './author-directory';

const logger = createLogger({ name: 'authors-test', level: 'silent' });

/** A user service whose names can change and which counts the ids it was asked for. */
function fakeUsers(initial: Record<string, string>) {
  const names = new Map(Object.entries(initial));
  const asked: string[][] = [];
  let failing = false;
  const client: UserNamesClient = {
    batchGetUsers: (request) => {
      asked.push([...request.userIds]);
      if (failing) return Promise.reject(new Error('14 UNAVAILABLE: user service down'));
      return Promise.resolve({
        users: request.userIds
          .filter((id) => names.has(id))
          .map((id) => ({ id, displayName: names.get(id) ?? '' })),
      });
    },
  };
  return {
    client,
    names,
    asked,
    fail: (value: boolean) => {
      failing = value;
    },
  };
}

describe('GrpcAuthorDirectory', () => {
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('asks only for the names it has not kept, and asks again once they expire', async () => {
    const users = fakeUsers({ ada: 'Ada', bob: 'Bob' });
    const directory = new GrpcAuthorDirectory(users.client, logger, 500, {
      ttlMs: 10_000,
      maxEntries: 100,
      now,
    });

    expect(await directory.displayNames(['ada', 'ada'])).toEqual(new Map([['ada', 'Ada']]));
    expect(await directory.displayNames(['ada', 'bob'])).toEqual(
      new Map([
        ['ada', 'Ada'],
        ['bob', 'Bob'],
      ]),
    );
    expect(users.asked).toEqual([['ada'], ['bob']]);

    users.names.set('ada', 'Ada Lovelace');
    clock += 9_999;
    expect((await directory.displayNames(['ada'])).get('ada')).toBe('Ada');
    clock += 1;
    expect((await directory.displayNames(['ada'])).get('ada')).toBe('Ada Lovelace');
    expect(users.asked).toEqual([['ada'], ['bob'], ['ada']]);
  });

  it('keeps unknown ids as empty names, and keeps nothing from a failed call', async () => {
    const users = fakeUsers({ ada: 'Ada' });
    const directory = new GrpcAuthorDirectory(users.client, logger, 500, {
      ttlMs: 10_000,
      maxEntries: 100,
      now,
    });

    expect(await directory.displayNames(['ghost'])).toEqual(new Map([['ghost', '']]));
    expect(await directory.displayNames(['ghost'])).toEqual(new Map([['ghost', '']]));
    expect(users.asked).toEqual([['ghost']]);

    users.fail(true);
    expect(await directory.displayNames(['ada'])).toEqual(new Map([['ada', '']]));
    users.fail(false);
    expect(await directory.displayNames(['ada'])).toEqual(new Map([['ada', 'Ada']]));
    expect(users.asked).toEqual([['ghost'], ['ada'], ['ada']]);
  });

  it('holds at most maxEntries names, dropping the least recently fetched', async () => {
    const users = fakeUsers({ a: 'A', b: 'B', c: 'C' });
    const directory = new GrpcAuthorDirectory(users.client, logger, 500, {
      ttlMs: 10_000,
      maxEntries: 2,
      now,
    });

    await directory.displayNames(['a']);
    await directory.displayNames(['b']);
    await directory.displayNames(['c']);
    await directory.displayNames(['b', 'c']);
    expect(users.asked).toEqual([['a'], ['b'], ['c']]);
    await directory.displayNames(['a']);
    expect(users.asked).toEqual([['a'], ['b'], ['c'], ['a']]);
  });

  it('asks the user service on every page when the TTL is 0', async () => {
    const users = fakeUsers({ ada: 'Ada' });
    const directory = new GrpcAuthorDirectory(users.client, logger, 500, {
      ttlMs: 0,
      maxEntries: 100,
      now,
    });
    await directory.displayNames(['ada']);
    await directory.displayNames(['ada']);
    expect(users.asked).toEqual([['ada'], ['ada']]);
  });

  it('makes no call for an empty page', async () => {
    const users = fakeUsers({});
    const directory = new GrpcAuthorDirectory(users.client, logger, 500);
    expect(await directory.displayNames([])).toEqual(new Map());
    expect(users.asked).toEqual([]);
  });
});
