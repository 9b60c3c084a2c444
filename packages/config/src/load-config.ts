import { type z } from 'zod';

/** One variable that failed validation. */
export interface ConfigIssue {
  variable: string;
  message: string;
}

/**
 * Thrown by {@link loadConfig} when the environment does not satisfy the schema. The message
 * lists every offending variable by name (never its value, which could be a secret).
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `Invalid configuration:\n${issues.map((issue) => `  - ${issue.variable}: ${issue.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type EnvironmentSource = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment against a zod object schema, once, at boot.
 * Empty strings count as absent so `FOO=` falls back to the default instead of failing oddly.
 * @throws ConfigError naming each missing or malformed variable.
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  source: EnvironmentSource = process.env,
): z.infer<z.ZodObject<Shape>> {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const result = schema.safeParse(relevant);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(root)',
      message:
        issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
    })),
  );
}

/**
 * For a process entry point: loads the configuration or writes one structured error line to
 * stderr and exits with status 78 (EX_CONFIG), so an orchestrator sees a crash it can explain.
 */
export function loadConfigOrExit<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  serviceName: string,
  source: EnvironmentSource = process.env,
): z.infer<z.ZodObject<Shape>> {
  try {
    return loadConfig(schema, source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${JSON.stringify({ level: 'fatal', service: serviceName, msg: error.message, issues: error.issues, time: Date.now() })}\n`,
    );
    process.exit(78);
  }
}
