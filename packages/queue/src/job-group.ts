import { createHash } from 'node:crypto';
import { captureContext, toJobData } from './job-context';
import { GROUP_KEY, type JobDefinition } from './job-definition';

/**
 * Grouped jobs: several outbox rows of one kind relayed as one BullMQ job.
 *
 * A job in BullMQ costs Redis a script call to add it, one to fetch it and one to complete it
 * (the completion also fetches the next job); for a job that does a millisecond of work those
 * calls and the wake-ups around them are most of its price. A kind whose definition sets
 * `grouping` may therefore be published by the relay as one job carrying many rows:
 *
 * ```json
 * { "_group": [ { "id": "<outbox row id>", "data": { "paymentId": "…", "_context": { … } } }, … ] }
 * ```
 *
 * Each item keeps what a job of its own would have had: its payload, its request context, and
 * its outbox row id as the idempotency key. The worker runs the processor once per item
 * (job-worker.ts); a retry runs only the items that failed.
 */
export interface GroupItem {
  /** The outbox row id: the item's idempotency key. */
  readonly id: string;
  /** What the item's own job data would have been (payload and context). */
  readonly data: object;
}

export type GroupJobData = { readonly [GROUP_KEY]: readonly GroupItem[] };

/**
 * One item for a group a producer builds itself, e.g. one outbox row carrying every e-mail of a
 * batch written by one statement: the payload is validated by the definition (which must set
 * `grouping`), and the current request context travels with it. `id` is the item's idempotency
 * key for the processor; derive it from the business event.
 */
export async function groupItem<Payload extends object>(
  definition: JobDefinition<Payload>,
  id: string,
  payload: Payload,
): Promise<GroupItem> {
  if (definition.grouping === undefined) {
    throw new Error(
      `${definition.queue}/${definition.name} does not set grouping, so its worker would reject a group`,
    );
  }
  await definition.parse(payload);
  return { id, data: toJobData(payload, captureContext()) };
}

/** Job data carrying `items`. */
export function groupJobData(items: readonly GroupItem[]): GroupJobData {
  return { [GROUP_KEY]: items };
}

/**
 * The job id of a group: a digest of its row ids in order. A relay that publishes the same rows
 * as the same group again (it died before marking them) gets the same id, which BullMQ turns into
 * a no-op. A relay that claims them again in a different group gets another id and publishes
 * them again: never lost, possibly run twice, which a grouped kind's processor must absorb (it
 * must anyway: BullMQ runs a job again when its worker stalls).
 */
export function groupJobId(rowIds: readonly string[]): string {
  // BullMQ rejects ':' in custom ids and ids that are integers; this is neither.
  return `group-${createHash('sha256').update(rowIds.join(',')).digest('hex').slice(0, 40)}`;
}

/** Whether `data` is a group's (it has the group key, whatever its content). */
export function isGroupJobData(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && GROUP_KEY in data;
}

/**
 * The items of a group's data, or a reason it is not a well-formed group (anyone with access to
 * Redis can write job data, so it is checked like input).
 */
export function readGroupItems(
  data: Record<string, unknown>,
): { items: GroupItem[] } | { invalid: string } {
  const items = data[GROUP_KEY];
  if (!Array.isArray(items) || items.length === 0) {
    return { invalid: `"${GROUP_KEY}" must be a non-empty array` };
  }
  const parsed: GroupItem[] = [];
  for (const [index, item] of (items as unknown[]).entries()) {
    const candidate = item as { id?: unknown; data?: unknown } | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.id !== 'string' ||
      candidate.id.length === 0 ||
      typeof candidate.data !== 'object' ||
      candidate.data === null
    ) {
      return { invalid: `"${GROUP_KEY}[${index}]" must be { id: string, data: object }` };
    }
    parsed.push({ id: candidate.id, data: candidate.data });
  }
  return { items: parsed };
}
