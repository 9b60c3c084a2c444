import { defineJob } from '@strata/queue';

export interface ProcessMediaPayload {
  readonly mediaId: string;
}

export const processMediaJob = defineJob<ProcessMediaPayload>({
  queue: 'content-media',
  name: 'process-media',
  schema: (input: unknown): ProcessMediaPayload => {
    const mediaId = (input as { mediaId?: unknown }).mediaId;
    if (typeof mediaId !== 'string' || mediaId.length === 0) throw new Error('mediaId is required');
    return { mediaId };
  },
  // Failures the processor can tell apart (corrupt file) are permanent; the retries are for a
  // database or storage that is briefly unavailable.
  defaults: { attempts: 3 },
});

/** What a `process-media` job returns (kept on the completed job). */
export interface ProcessMediaResult {
  readonly status: 'ready' | 'failed' | 'skipped';
  /** Where the job ran: the sandbox child's pid (not the worker's) and thread (0: main thread). */
  readonly pid: number;
  readonly threadId: number;
}
