import { parseRealtimeEvent, realtimeEventChannel } from '@strata/contracts';
import { type Logger } from '@strata/logger';
import { Redis } from 'ioredis';
import { type WebSocket } from 'ws';

export interface EventHubOptions {
  readonly url: string;
  readonly logger: Logger;
  /** A socket with more than this many bytes waiting to be sent is closed as too slow. */
  readonly maxBufferedBytes: number;
}

/** WebSocket close code for a consumer too slow to keep up (RFC 6455 §7.4.1 "Try Again Later"). */
export const CLOSE_SLOW_CONSUMER = 1013;

/**
 * Real-time fan-out across replicas: one Redis subscriber connection per replica, subscribed to
 * `strata:events:user:<id>` for each user with at least one socket here. Whatever replica a
 * service's event was caused through, every replica holding that user's sockets receives it.
 */
export class EventHub {
  private readonly subscriber: Redis;
  private readonly sockets = new Map<string, Set<WebSocket>>();

  constructor(private readonly options: EventHubOptions) {
    // Not the cache client: a subscriber must queue SUBSCRIBEs while reconnecting and resubscribe
    // afterwards (ioredis does both by default), and must not time out while idle.
    this.subscriber = new Redis(options.url, {
      connectionName: 'gateway-events',
      lazyConnect: true,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    });
    this.subscriber.on('error', (error: Error) =>
      options.logger.warn({ err: error }, 'events redis error'),
    );
    this.subscriber.on('message', (channel: string, message: string) =>
      this.deliver(channel, message),
    );
  }

  async start(): Promise<void> {
    await this.subscriber.connect();
  }

  /** Delivers the user's events to `socket` until it closes. */
  async add(userId: string, socket: WebSocket): Promise<void> {
    const channel = realtimeEventChannel(userId);
    let set = this.sockets.get(channel);
    if (!set) {
      set = new Set();
      this.sockets.set(channel, set);
    }
    set.add(socket);
    socket.once('close', () => this.remove(channel, socket));
    if (set.size === 1) await this.subscriber.subscribe(channel);
  }

  connectionCount(): number {
    let count = 0;
    for (const set of this.sockets.values()) count += set.size;
    return count;
  }

  /** Closes every socket (going away) and the subscriber connection. */
  async close(): Promise<void> {
    for (const set of this.sockets.values()) {
      for (const socket of set) socket.close(1001, 'server shutting down');
    }
    this.sockets.clear();
    if (this.subscriber.status === 'wait' || this.subscriber.status === 'end') {
      this.subscriber.disconnect();
      return;
    }
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private remove(channel: string, socket: WebSocket): void {
    const set = this.sockets.get(channel);
    if (!set) return;
    set.delete(socket);
    if (set.size > 0) return;
    this.sockets.delete(channel);
    this.subscriber
      .unsubscribe(channel)
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, channel }, 'unsubscribe failed'),
      );
  }

  private deliver(channel: string, message: string): void {
    const set = this.sockets.get(channel);
    if (!set) return;
    try {
      // Forwarded unchanged, but only once it is known to be a well-formed envelope.
      if (parseRealtimeEvent(message) === undefined) return;
    } catch (error) {
      this.options.logger.warn({ err: error, channel }, 'dropping malformed real-time event');
      return;
    }
    for (const socket of set) {
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > this.options.maxBufferedBytes) {
        socket.close(CLOSE_SLOW_CONSUMER, 'too slow to keep up');
        continue;
      }
      socket.send(message);
    }
  }
}
