// The real-time event envelope `{type, data, at}` that services publish on Redis and the gateway
// pushes to WebSockets (described in proto/events/v1/events.proto). Both sides build and read it
// here, so the JSON shape of every `data` payload is the generated proto3 JSON form.
import {
  CommentCreatedEvent,
  MediaFailedEvent,
  MediaReadyEvent,
  PaymentFailedEvent,
  PaymentSettledEvent,
} from './generated/events/v1/events';

/** The `data` message of each real-time event type. */
export interface RealtimeEventDataMap {
  'payment.settled': PaymentSettledEvent;
  'payment.failed': PaymentFailedEvent;
  'comment.created': CommentCreatedEvent;
  'media.ready': MediaReadyEvent;
  'media.failed': MediaFailedEvent;
}

/** Every real-time event type, e.g. `payment.settled`. */
export type RealtimeEventType = keyof RealtimeEventDataMap;

/** One event, discriminated by `type`. */
export type RealtimeEvent = {
  [Type in RealtimeEventType]: { type: Type; data: RealtimeEventDataMap[Type]; at: Date };
}[RealtimeEventType];

interface JsonCodec<Message> {
  toJSON(message: Message): unknown;
  fromJSON(object: unknown): Message;
}

const DATA_CODECS: { [Type in RealtimeEventType]: JsonCodec<RealtimeEventDataMap[Type]> } = {
  'payment.settled': PaymentSettledEvent,
  'payment.failed': PaymentFailedEvent,
  'comment.created': CommentCreatedEvent,
  'media.ready': MediaReadyEvent,
  'media.failed': MediaFailedEvent,
};

/** All known event types, in a stable order (for schemas and docs). */
export const REALTIME_EVENT_TYPES = Object.keys(DATA_CODECS) as readonly RealtimeEventType[];

const CHANNEL_PREFIX = 'strata:events:user:';

/** The Redis pub/sub channel that carries the events of one recipient. */
export function realtimeEventChannel(userId: string): string {
  if (userId === '') throw new Error('realtimeEventChannel: userId must not be empty');
  return `${CHANNEL_PREFIX}${userId}`;
}

function isRealtimeEventType(type: string): type is RealtimeEventType {
  return Object.hasOwn(DATA_CODECS, type);
}

function dataToJson<Type extends RealtimeEventType>(
  type: Type,
  data: RealtimeEventDataMap[Type],
): unknown {
  return DATA_CODECS[type].toJSON(data);
}

/** The JSON text published for `event`: `{"type":…,"data":{…},"at":"<RFC 3339 UTC>"}`. */
export function serializeRealtimeEvent(event: RealtimeEvent): string {
  return JSON.stringify({
    type: event.type,
    data: dataToJson(event.type, event.data),
    at: event.at.toISOString(),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a published event. Returns `undefined` for a well-formed envelope of a type this build
 * does not know (newer publishers may add types); throws for anything malformed.
 */
export function parseRealtimeEvent(text: string): RealtimeEvent | undefined {
  const envelope: unknown = JSON.parse(text);
  if (!isRecord(envelope) || typeof envelope.type !== 'string' || typeof envelope.at !== 'string') {
    throw new Error('realtime event: expected {type: string, data: object, at: string}');
  }
  if (!isRecord(envelope.data)) throw new Error('realtime event: data must be an object');
  const at = new Date(envelope.at);
  if (Number.isNaN(at.getTime())) throw new Error('realtime event: at is not a timestamp');
  const { type, data } = envelope;
  if (!isRealtimeEventType(type)) return undefined;
  // Each branch pins `type`, so the parsed data is tied to its own message type without a cast.
  switch (type) {
    case 'payment.settled':
      return { type, data: DATA_CODECS[type].fromJSON(data), at };
    case 'payment.failed':
      return { type, data: DATA_CODECS[type].fromJSON(data), at };
    case 'comment.created':
      return { type, data: DATA_CODECS[type].fromJSON(data), at };
    case 'media.ready':
      return { type, data: DATA_CODECS[type].fromJSON(data), at };
    case 'media.failed':
      return { type, data: DATA_CODECS[type].fromJSON(data), at };
  }
}
