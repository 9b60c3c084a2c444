import { readFileSync } from 'node:fs';
import path from 'node:path';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * The list ships next to the code (not inside src/) so the same relative path works from src/
 * under jest and from dist/ in production.
 */
export const COMMON_PASSWORDS_FILE = path.join(
  __dirname,
  '..',
  '..',
  'assets',
  'common-passwords.txt',
);

/** Reads a one-password-per-line file; `#` lines are comments. Done once, at build time of the app. */
export function loadCommonPasswords(file: string = COMMON_PASSWORDS_FILE): ReadonlySet<string> {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => line.toLowerCase());
  return new Set(entries);
}

/** Counts code points, not UTF-16 units, so an emoji or a CJK character counts once. */
export function passwordLength(password: string): number {
  let length = 0;
  for (const _character of password) length += 1;
  return length;
}

/**
 * NIST SP 800-63B style rules: a length window and a block list, no composition rules (they push
 * people to `Password1!`). The upper bound also caps the work one request can ask argon2 to do.
 */
export class PasswordPolicy {
  constructor(private readonly commonPasswords: ReadonlySet<string>) {}

  /** Returns why the password is rejected (to be prefixed with the field name), or undefined. */
  violation(password: string): string | undefined {
    const length = passwordLength(password);
    if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
    if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
    if (this.commonPasswords.has(password.toLowerCase())) {
      return 'is one of the most common passwords; choose a less predictable one';
    }
    return undefined;
  }
}
