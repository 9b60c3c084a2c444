// The job of the sandboxed processor fixture (sandbox-probe.processor.ts), shared by the fixture
// and the tests that enqueue it.
import { defineJob } from '../job-definition';

export const SANDBOX_PROBE_ACTIONS = ['report', 'throw', 'permanent', 'exit'] as const;

export interface SandboxProbePayload {
  readonly action: (typeof SANDBOX_PROBE_ACTIONS)[number];
}

/** What a `report` job returns: where and with what it ran. */
export interface SandboxProbeReport {
  readonly pid: number;
  readonly threadId: number;
  readonly requestId: string | null;
  readonly attempt: number;
  readonly probeValue: string | null;
}

export const sandboxProbe = defineJob<SandboxProbePayload>({
  queue: 'sandbox-probe',
  name: 'probe',
  schema: (input) => {
    const action = (input as { action?: unknown }).action;
    const known = SANDBOX_PROBE_ACTIONS.find((candidate) => candidate === action);
    if (known === undefined)
      throw new Error(`action must be one of ${SANDBOX_PROBE_ACTIONS.join(', ')}`);
    return { action: known };
  },
  defaults: { attempts: 2, backoff: { type: 'fixed', delay: 20 } },
});
