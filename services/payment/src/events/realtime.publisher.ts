import {
  realtimeEventChannel,
  serializeRealtimeEvent,
  type RealtimeEvent,
} from '@strata/contracts';
import { type Redis } from 'ioredis';

/** Publishes real-time events on the gateway's event Redis, one message per recipient channel. */
export class RealtimePublisher {
  constructor(private readonly redis: Redis) {}

  async publish(event: RealtimeEvent, recipients: readonly string[]): Promise<void> {
    await this.publishAll([{ event, recipients }]);
  }

  /** Several events in one pipeline (one round trip). */
  async publishAll(
    messages: ReadonlyArray<{
      readonly event: RealtimeEvent;
      readonly recipients: readonly string[];
    }>,
  ): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const { event, recipients } of messages) {
      const message = serializeRealtimeEvent(event);
      for (const userId of new Set(recipients))
        pipeline.publish(realtimeEventChannel(userId), message);
    }
    const results = await pipeline.exec();
    const failure = results?.find(([error]) => error !== null)?.[0];
    if (failure) throw failure;
  }
}
