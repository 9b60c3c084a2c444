/**
 * Log redaction. pino's own `redact` matches fixed paths only; secrets in Strata arrive at any
 * depth (a gRPC request, a job payload, an error's cause), so keys are matched by name at every
 * level, and free text is scanned for card-like numbers.
 */

export const REDACTED = '[redacted]';

const SENSITIVE_KEY_PATTERN =
  /pass(word|wd|phrase)?|secret|token|authorization|cookie|api[-_]?key|private[-_]?key|hash|card[-_]?number|^pan$|cvc|cvv|signature|otp/i;

// 13–19 digits, optionally grouped by spaces or dashes: the shapes card numbers are written in.
const CARD_LIKE_PATTERN = /\b(?:\d[ -]?){12,18}\d\b/g;

const MAX_DEPTH = 8;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY_PATTERN.test(key);
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Replaces card-like digit runs that pass the Luhn check (so ids and timestamps survive). */
export function redactCardNumbers(text: string): string {
  return text.replace(CARD_LIKE_PATTERN, (match) =>
    passesLuhn(match.replace(/[ -]/g, '')) ? REDACTED : match,
  );
}

/** Returns a copy of `value` with sensitive keys and card-like strings redacted. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactCardNumbers(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (value instanceof Date) return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactCardNumbers(value.message),
      stack: value.stack ? redactCardNumbers(value.stack) : undefined,
    };
  }
  const copy: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    copy[key] = isSensitiveKey(key) ? REDACTED : redactValue(entry, depth + 1);
  }
  return copy;
}
