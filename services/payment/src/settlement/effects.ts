import { type RealtimeEvent } from '@strata/contracts';
import { type Logger } from '@strata/logger';

/**
 * What a committed ledger change must announce. Computed inside the transaction, run after the
 * COMMIT (never before: a rolled-back change must not be announced). Best effort: the balance
 * cache remembers failed invalidations, and a lost real-time event is only a missed notification
 * (receipts go through the outbox and are exactly once).
 */
export type Effect =
  | { readonly kind: 'balance-changed'; readonly userId: string }
  | {
      readonly kind: 'event';
      readonly recipients: readonly string[];
      readonly event: RealtimeEvent;
    };

export interface EffectSink {
  invalidateBalances(userIds: readonly string[]): Promise<unknown>;
  publish(event: RealtimeEvent, recipients: readonly string[]): Promise<unknown>;
}

export async function runEffects(
  effects: readonly Effect[],
  sink: EffectSink,
  logger: Logger,
): Promise<void> {
  const userIds = effects.flatMap((effect) =>
    effect.kind === 'balance-changed' ? [effect.userId] : [],
  );
  const results = await Promise.allSettled([
    userIds.length > 0 ? sink.invalidateBalances(userIds) : Promise.resolve(),
    ...effects.flatMap((effect) =>
      effect.kind === 'event' ? [sink.publish(effect.event, effect.recipients)] : [],
    ),
  ]);
  for (const result of results) {
    if (result.status === 'rejected')
      logger.warn({ err: result.reason }, 'after-commit effect failed');
  }
}
