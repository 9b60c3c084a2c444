import { defineJob } from '@strata/queue';

/**
 * The `email` queue's job as the notification worker (issue 7) consumes it. The same definition
 * lives in services/user (services never import each other); both must match the worker's.
 * This service only sends the "comment on your article" template.
 */
export interface CommentEmailPayload {
  readonly toUserId: string;
  readonly template: 'comment-on-article';
  /** Template variables; strings only, escaped by the renderer. */
  readonly data: Readonly<Record<string, string>>;
  /** Exactly one email per key, however often the job is delivered. */
  readonly idempotencyKey: string;
}

function parseCommentEmail(input: unknown): CommentEmailPayload {
  const value = input as Partial<CommentEmailPayload>;
  if (typeof value.toUserId !== 'string' || value.template !== 'comment-on-article') {
    throw new Error('toUserId and template comment-on-article are required');
  }
  if (typeof value.idempotencyKey !== 'string' || value.idempotencyKey === '')
    throw new Error('idempotencyKey is required');
  if (typeof value.data !== 'object' || value.data === null)
    throw new Error('data must be an object');
  for (const item of Object.values(value.data)) {
    if (typeof item !== 'string') throw new Error('data values must be strings');
  }
  return value as CommentEmailPayload;
}

export const sendEmailJob = defineJob<CommentEmailPayload>({
  queue: 'email',
  name: 'send-email',
  schema: parseCommentEmail,
});
