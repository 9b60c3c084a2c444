import { type Pool, type PoolClient } from 'pg';

export interface RecordedQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

export interface QueryRecorder {
  /** Statements sent since the last reset, in order. */
  readonly queries: RecordedQuery[];
  reset(): void;
}

function asRecordedQuery(args: unknown[]): RecordedQuery {
  const [first, second] = args;
  if (typeof first === 'string')
    return { text: first, values: Array.isArray(second) ? second : [] };
  const config = first as { text?: string; values?: unknown[] };
  return {
    text: config.text ?? '',
    values: config.values ?? (Array.isArray(second) ? second : []),
  };
}

/**
 * Records every statement sent through a pool's connections. Attach it before the pool's first
 * query: it wraps each client as the pool connects it, which covers Prisma's single queries and
 * its transactions alike.
 */
export function recordQueries(pool: Pool): QueryRecorder {
  const queries: RecordedQuery[] = [];
  pool.on('connect', (client: PoolClient) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (
      ...args: unknown[]
    ) => {
      queries.push(asRecordedQuery(args));
      return original(...args);
    };
  });
  return {
    queries,
    reset: () => {
      queries.length = 0;
    },
  };
}
