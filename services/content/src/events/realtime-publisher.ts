import {
  type RealtimeEvent,
  realtimeEventChannel,
  serializeRealtimeEvent,
} from '@strata/contracts';
import { type Logger } from '@strata/logger';
import { type Redis } from 'ioredis';

/** Sends real-time events to one user's channel on the gateway's event Redis. */
export interface RealtimePublisher {
  publish(userId: string, event: RealtimeEvent): Promise<void>;
}

/**
 * Pub/sub is fire-and-forget by nature (a user who is not connected gets nothing), so a failed
 * publish is logged, never thrown: the write that caused the event has already committed.
 */
export class RedisRealtimePublisher implements RealtimePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async publish(userId: string, event: RealtimeEvent): Promise<void> {
    try {
      await this.redis.publish(realtimeEventChannel(userId), serializeRealtimeEvent(event));
    } catch (error) {
      this.logger.warn({ err: error, eventType: event.type }, 'real-time event not published');
    }
  }
}
