/**
 * Field rules shared by several use cases (the limits are the contract's: proto/user/v1).
 * Each check returns why a value is rejected, without the field name, or undefined when it is
 * fine; the caller names the field, since `password` and `new_password` share one rule.
 */

export const EMAIL_MAX_LENGTH = 254;
export const DISPLAY_NAME_MAX_LENGTH = 64;
export const BIO_MAX_LENGTH = 500;

// Deliberately loose (one @, a dot in the domain, no spaces): the verification email is the real
// test of an address, and stricter patterns reject valid ones.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// C0/C1 control characters; a bio may still contain line breaks and tabs.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_CHARACTERS_EXCEPT_WHITESPACE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function codePoints(value: string): number {
  let length = 0;
  for (const _character of value) length += 1;
  return length;
}

/** Trim + lower-case: the only form stored and looked up, so uniqueness is case-insensitive. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailViolation(normalisedEmail: string): string | undefined {
  if (normalisedEmail.length === 0) return 'is required';
  if (codePoints(normalisedEmail) > EMAIL_MAX_LENGTH)
    return `must be at most ${EMAIL_MAX_LENGTH} characters`;
  if (CONTROL_CHARACTERS.test(normalisedEmail) || !EMAIL_PATTERN.test(normalisedEmail)) {
    return 'must be a valid email address';
  }
  return undefined;
}

export function normaliseDisplayName(displayName: string): string {
  return displayName.trim();
}

export function displayNameViolation(normalisedDisplayName: string): string | undefined {
  if (normalisedDisplayName.length === 0) return 'is required';
  if (codePoints(normalisedDisplayName) > DISPLAY_NAME_MAX_LENGTH) {
    return `must be at most ${DISPLAY_NAME_MAX_LENGTH} characters`;
  }
  if (CONTROL_CHARACTERS.test(normalisedDisplayName)) return 'must not contain control characters';
  return undefined;
}

export function bioViolation(bio: string): string | undefined {
  if (codePoints(bio) > BIO_MAX_LENGTH) return `must be at most ${BIO_MAX_LENGTH} characters`;
  if (CONTROL_CHARACTERS_EXCEPT_WHITESPACE.test(bio)) return 'must not contain control characters';
  return undefined;
}

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
