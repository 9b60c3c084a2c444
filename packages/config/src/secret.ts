/**
 * A configuration value that must never reach a log line or an error message.
 * `String(secret)`, `JSON.stringify(secret)` and `util.inspect(secret)` all print `[redacted]`;
 * only an explicit `reveal()` hands out the value, which makes every use of it greppable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}
