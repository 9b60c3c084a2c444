import { randomUUID } from 'node:crypto';
import { type Logger } from '@strata/logger';
import { type Charge, type PspEventType, type Refund } from './processor';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './webhook-signature';

export interface PspEvent {
  id: string;
  type: PspEventType;
  created: number;
  data: { object: Charge | Refund };
}

export interface DeliveryState {
  event: PspEvent;
  attempts: number;
  delivered: boolean;
  lastStatus: number | null;
  lastError: string | null;
}

export interface WebhookDispatcherOptions {
  url: string | undefined;
  secret: string;
  maxAttempts: number;
  backoffMs: number;
  logger: Logger;
  /** Per-attempt bound, so a receiver that hangs counts as a failure. */
  attemptTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * Delivers events as signed POSTs and redelivers each with exponential backoff until the
 * receiver answers 2xx or `maxAttempts` is reached, like real processors do. Every attempt is
 * signed afresh (new timestamp), so the receiver's replay window holds for redeliveries too.
 */
export class WebhookDispatcher {
  readonly deliveries = new Map<string, DeliveryState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {}

  publish(type: PspEventType, object: Charge | Refund): PspEvent {
    const event: PspEvent = {
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      type,
      created: Math.floor(Date.now() / 1000),
      data: { object },
    };
    this.deliveries.set(event.id, {
      event,
      attempts: 0,
      delivered: false,
      lastStatus: null,
      lastError: null,
    });
    this.schedule(event.id, 0);
    return event;
  }

  /** Sends an event again although it was acknowledged (tests of receivers' deduplication). */
  redeliver(eventId: string): boolean {
    const state = this.deliveries.get(eventId);
    if (!state) return false;
    state.delivered = false;
    this.schedule(eventId, 0);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(eventId: string, delayMs: number) {
    if (this.closed || this.options.url === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const attempt = this.attempt(eventId).finally(() => this.inFlight.delete(attempt));
      this.inFlight.add(attempt);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(eventId: string): Promise<void> {
    const state = this.deliveries.get(eventId);
    const url = this.options.url;
    if (!state || state.delivered || url === undefined) return;
    state.attempts += 1;
    const body = JSON.stringify(state.event);
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
          [TIMESTAMP_HEADER]: timestamp,
        },
        body,
        signal: AbortSignal.any([
          this.abort.signal,
          AbortSignal.timeout(this.options.attemptTimeoutMs ?? 5_000),
        ]),
      });
      await response.body?.cancel();
      state.lastStatus = response.status;
      state.lastError = null;
      if (response.ok) {
        state.delivered = true;
        return;
      }
    } catch (error) {
      state.lastError = error instanceof Error ? error.message : String(error);
    }
    if (this.closed) return;
    if (state.attempts >= this.options.maxAttempts) {
      this.options.logger.warn(
        { eventId, attempts: state.attempts },
        'webhook given up after max attempts',
      );
      return;
    }
    const delay = Math.min(this.options.backoffMs * 2 ** (state.attempts - 1), MAX_BACKOFF_MS);
    this.schedule(eventId, delay);
  }
}
