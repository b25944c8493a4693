/**
 * Error types. Three families, kept apart on purpose:
 * - definition errors, thrown by LocalStepFunctions.open() for a state machine we cannot run faithfully;
 * - service errors, the AWS API errors (name = AWS error code) that the HTTP layer returns as
 *   `{"__type": "com.amazonaws.swf.service.v2.model#<name>", "message": ...}`;
 * - states errors, raised inside an execution (States.Runtime, a Lambda error, ...) and handled by
 *   Retry/Catch or by failing the execution.
 */

/** The definition is malformed (would be rejected by CreateStateMachine too). */
export class InvalidDefinitionError extends Error {
  override name = 'InvalidDefinitionError';
}

/** The definition may be valid for AWS but uses something this engine does not implement. */
export class UnsupportedDefinitionError extends InvalidDefinitionError {
  override name = 'UnsupportedDefinitionError';
}

export type ServiceErrorCode =
  | 'ExecutionAlreadyExists'
  | 'ExecutionDoesNotExist'
  | 'InvalidArn'
  | 'InvalidExecutionInput'
  | 'InvalidName'
  | 'InvalidOutput'
  | 'InvalidToken'
  | 'StateMachineDoesNotExist'
  | 'TaskDoesNotExist'
  | 'TaskTimedOut'
  | 'ValidationException'
  | 'UnknownOperationException'
  | 'SerializationException'
  | 'ServiceUnavailable'
  | 'AccessDeniedException'
  | 'UnrecognizedClientException';

/** An AWS Step Functions API error; `name` is the AWS error code the SDK turns into an exception class. */
export class ServiceError extends Error {
  readonly code: ServiceErrorCode;
  readonly httpStatus: number;
  constructor(code: ServiceErrorCode, message: string, httpStatus = 400) {
    super(message);
    this.code = code;
    this.name = code;
    this.httpStatus = httpStatus;
  }
}

/** An error raised inside an execution, with the ASL error name and cause. */
export class StatesError extends Error {
  readonly error: string;
  override readonly cause: string;
  constructor(error: string, cause: string) {
    super(`${error}: ${cause}`);
    this.name = 'StatesError';
    this.error = error;
    this.cause = cause;
  }
}

export function runtimeError(cause: string): StatesError {
  return new StatesError('States.Runtime', cause);
}
