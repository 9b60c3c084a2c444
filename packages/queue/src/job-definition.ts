import { type BackoffOptions, type KeepJobs } from 'bullmq';
import { InvalidJobPayloadError } from './errors';

/**
 * The Standard Schema v1 interface (https://standardschema.dev), copied as the spec asks so that
 * no dependency is needed: zod ≥ 3.24, valibot ≥ 1 and arktype implement it, so a definition can
 * take a schema from any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/**
 * How a payload is checked: a Standard Schema, or a function that returns the typed payload and
 * throws on bad input.
 */
export type PayloadSchema<Payload> =
  StandardSchemaV1<unknown, Payload> | ((input: unknown) => Payload);

/** Retry and retention settings of a job kind. */
export interface JobDefaults {
  /** Total attempts, the first included. */
  readonly attempts: number;
  /** `exponential` with `jitter` (0..1) spreads retries of a failed dependency. */
  readonly backoff: BackoffOptions;
  /** Completed jobs kept for inspection; bounded so Redis does not fill up. */
  readonly removeOnComplete: KeepJobs;
  /** Failed jobs are kept (`false`) so an operator can inspect and retry them. */
  readonly removeOnFail: false | KeepJobs;
  readonly priority?: number;
}

/**
 * Defaults for every job: 5 attempts, exponential backoff from 1 s (1, 2, 4, 8 s) with 50 %
 * jitter (each delay is drawn from [d/2, d]), completed jobs kept 24 h / at most 10 000, failed
 * jobs kept until an operator acts.
 */
export const DEFAULT_JOB_DEFAULTS: JobDefaults = Object.freeze({
  attempts: 5,
  backoff: Object.freeze({ type: 'exponential', delay: 1_000, jitter: 0.5 }),
  removeOnComplete: Object.freeze({ age: 24 * 3600, count: 10_000 }),
  removeOnFail: false,
});

export interface JobSpec<Payload extends object> {
  /** Queue name: one BullMQ queue per job kind is the convention (see README). */
  readonly queue: string;
  /** Job name, shown in the dashboard and routed on by the worker. */
  readonly name: string;
  /** Checked by producers, by the outbox and, always, at the worker boundary. */
  readonly schema?: PayloadSchema<Payload>;
  readonly defaults?: Partial<JobDefaults>;
  /**
   * Lets an outbox relay publish up to `maxItems` rows of this kind as **one** BullMQ job (see
   * job-group.ts): one add, one fetch and one completion in Redis for the group instead of one
   * each per row. The worker still runs the processor once per item, each with the item's own
   * payload, request context and idempotency key (its outbox row id). Only for processors that
   * act through their payload alone: in a group, `context.job` is the group's job, so moving it
   * (`moveToDelayed`, `DelayedError`) or reporting progress would act for every item.
   */
  readonly grouping?: JobGrouping;
}

/** How a kind may travel in groups ({@link JobSpec.grouping}). */
export interface JobGrouping {
  /** Items one job may carry. */
  readonly maxItems: number;
  /**
   * Items of one group processed at once (default: all of them). The worker's `concurrency`
   * counts jobs, so a worker may run up to `concurrency` × this many items at once.
   */
  readonly concurrency?: number;
}

/** One kind of job, shared by its producers and its worker so both agree on the payload type. */
export interface JobDefinition<Payload extends object> {
  readonly queue: string;
  readonly name: string;
  readonly defaults: JobDefaults;
  readonly schema: PayloadSchema<Payload> | undefined;
  /** Set when the kind may be relayed in groups ({@link JobSpec.grouping}). */
  readonly grouping: JobGrouping | undefined;
  /**
   * Validates `input` against the schema (or checks it is a plain object when there is none).
   * @throws InvalidJobPayloadError — a permanent error: the worker never retries it.
   */
  parse(input: unknown): Promise<Payload>;
}

/** Payload type of a definition: `PayloadOf<typeof sendEmail>`. */
export type PayloadOf<Definition> =
  Definition extends JobDefinition<infer Payload> ? Payload : never;

/** Key under which the request context travels inside job data; never part of a payload. */
export const CONTEXT_KEY = '_context';

/** Key under which a grouped job's items travel (job-group.ts); never part of a payload. */
export const GROUP_KEY = '_group';

// BullMQ forbids ':' in queue names (it separates key parts); the rest keeps names readable in
// Redis keys, metrics labels and the dashboard.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function isStandardSchema<Payload>(
  schema: PayloadSchema<Payload>,
): schema is StandardSchemaV1<unknown, Payload> {
  return typeof schema === 'object' && schema !== null && '~standard' in schema;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function formatPath(
  path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined,
): string {
  if (!path || path.length === 0) return '';
  return `${path.map((part) => String(typeof part === 'object' ? part.key : part)).join('.')}: `;
}

/**
 * Declares a job kind.
 *
 * ```ts
 * export const sendEmail = defineJob<SendEmailPayload>({
 *   queue: 'email', name: 'send-email', schema: sendEmailSchema,
 *   defaults: { attempts: 8 },
 * });
 * ```
 */
export function defineJob<Payload extends object>(spec: JobSpec<Payload>): JobDefinition<Payload> {
  for (const [label, value] of [
    ['queue', spec.queue],
    ['name', spec.name],
  ] as const) {
    if (!NAME_PATTERN.test(value)) {
      throw new Error(`defineJob: invalid ${label} "${value}" (letters, digits, . _ - only)`);
    }
  }
  const defaults: JobDefaults = { ...DEFAULT_JOB_DEFAULTS, ...spec.defaults };
  if (!Number.isInteger(defaults.attempts) || defaults.attempts < 1) {
    throw new Error(`defineJob: attempts must be a positive integer (${spec.queue}/${spec.name})`);
  }
  const grouping = spec.grouping;
  for (const [label, value] of [
    ['maxItems', grouping?.maxItems],
    ['concurrency', grouping?.concurrency],
  ] as const) {
    if (grouping !== undefined && value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new Error(
        `defineJob: grouping.${label} must be a positive integer (${spec.queue}/${spec.name})`,
      );
    }
  }
  const schema = spec.schema;
  const invalid = (issues: string[]) => new InvalidJobPayloadError(spec.queue, spec.name, issues);

  async function parse(input: unknown): Promise<Payload> {
    if (!isPlainObject(input)) throw invalid(['payload must be a plain object']);
    if (CONTEXT_KEY in input)
      throw invalid([`"${CONTEXT_KEY}" is reserved for the request context`]);
    if (GROUP_KEY in input) throw invalid([`"${GROUP_KEY}" is reserved for grouped jobs`]);
    if (schema === undefined) return input as Payload;
    if (isStandardSchema(schema)) {
      const result = await schema['~standard'].validate(input);
      if (result.issues) {
        throw invalid(result.issues.map((issue) => `${formatPath(issue.path)}${issue.message}`));
      }
      return result.value;
    }
    try {
      return schema(input);
    } catch (error) {
      throw invalid([error instanceof Error ? error.message : String(error)]);
    }
  }

  return Object.freeze({
    queue: spec.queue,
    name: spec.name,
    defaults,
    schema,
    grouping: grouping === undefined ? undefined : Object.freeze({ ...grouping }),
    parse,
  });
}
