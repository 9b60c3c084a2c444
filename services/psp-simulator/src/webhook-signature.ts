import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the hex HMAC-SHA256 of `${timestamp}.${body}`. */
export const SIGNATURE_HEADER = 'psp-signature';
/** Header carrying the Unix time (seconds) the delivery was signed at; part of the signed bytes. */
export const TIMESTAMP_HEADER = 'psp-timestamp';

/** The signature of one delivery. The timestamp is signed too, so an old capture cannot be replayed with a fresh one. */
export function signWebhook(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** Constant-time check of a signature (what a receiver does). */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string,
  body: Buffer | string,
  signature: string,
): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
