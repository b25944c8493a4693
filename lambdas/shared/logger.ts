/**
 * Structured JSON logs, one object per line, in the shape CloudWatch Logs Insights reads
 * without parsing rules: `level`, `message`, `timestamp`, `service`, the Lambda's request id,
 * the API request id, the X-Ray trace id, and whatever correlation fields the caller adds
 * (above all `intent_id`). A small equivalent of Powertools Logger, without the dependency.
 *
 * Only fields passed explicitly are written, and any field whose name says it carries a
 * secret or a payload (`task_token`, `*secret*`, `authorization`, `payload`, `body`, …) is
 * replaced by `[redacted]`, so that a careless call cannot leak a key or a request body.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** Field names never written as they are. */
const SENSITIVE_FIELD =
  /token|secret|password|passphrase|authorization|cookie|api_?key|^key$|payload|body|signature/i;

export const REDACTED = '[redacted]';

export interface LoggerOptions {
  /** The lowest level written. @default - `LOG_LEVEL`, else INFO in Lambda and WARN elsewhere */
  level?: LogLevel;
  /** Where lines go. @default - standard output, bypassing the Lambda runtime's console prefix */
  write?: (line: string) => void;
  /** The clock. @default - the system clock */
  now?: () => Date;
}

export class Logger {
  private readonly level: number;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;

  constructor(
    private readonly fields: LogFields = {},
    options: LoggerOptions = {},
  ) {
    this.level = LEVELS[options.level ?? defaultLevel()];
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.now = options.now ?? (() => new Date());
  }

  /** A logger that adds `fields` to every line (correlation ids: intent, request, execution). */
  child(fields: LogFields): Logger {
    return new Logger(
      { ...this.fields, ...fields },
      { level: this.levelName(), write: this.write, now: this.now },
    );
  }

  debug(message: string, fields?: LogFields): void {
    this.log('DEBUG', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('INFO', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('WARN', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log('ERROR', message, fields);
  }

  private log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (LEVELS[level] < this.level) return;
    const traceId = process.env._X_AMZN_TRACE_ID;
    const line = {
      level,
      message,
      timestamp: this.now().toISOString(),
      service: 'countersign',
      ...(process.env.AWS_LAMBDA_FUNCTION_NAME
        ? { function_name: process.env.AWS_LAMBDA_FUNCTION_NAME }
        : {}),
      ...(traceId ? { xray_trace_id: traceId.split(';')[0]?.replace(/^Root=/, '') } : {}),
      ...sanitize(this.fields),
      ...sanitize(fields),
    };
    this.write(JSON.stringify(line));
  }

  private levelName(): LogLevel {
    return (
      (Object.keys(LEVELS) as LogLevel[]).find((name) => LEVELS[name] === this.level) ?? 'INFO'
    );
  }
}

function defaultLevel(): LogLevel {
  const configured = process.env.LOG_LEVEL?.toUpperCase();
  if (configured && configured in LEVELS) return configured as LogLevel;
  // In Lambda, every request is worth a line; in-process (the local stack, tests), only trouble.
  return process.env.AWS_LAMBDA_FUNCTION_NAME ? 'INFO' : 'WARN';
}

function sanitize(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[name] = SENSITIVE_FIELD.test(name)
      ? REDACTED
      : value instanceof Error
        ? describeError(value)
        : value;
  }
  return out;
}

/** An error as a log field: its name, message and stack, never its enumerable extras (request data). */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: typeof error, message: String(error) };
}

/** The subset of the Lambda context the logs use. */
export interface InvocationContext {
  awsRequestId?: string;
}

/** The logger of the whole function; handlers take a child per invocation. */
export const logger = new Logger();

/** A child logger for one invocation, carrying the Lambda request id. */
export function invocationLogger(context: InvocationContext | undefined, fields: LogFields = {}) {
  return logger.child({ aws_request_id: context?.awsRequestId, ...fields });
}
