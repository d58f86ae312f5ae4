/** Stable error codes: operators and tests match on these, never on message text. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MESSAGE_NOT_JSON'
  | 'MESSAGE_UNSUPPORTED_TYPE'
  | 'MESSAGE_TOO_LARGE'
  | 'BODY_RECORDS_NOT_ARRAY'
  | 'BODY_UNRECOGNIZED'
  | 'RECORD_NOT_OBJECT'
  | 'RECORD_INVALID'
  /** Decoding, validating or evaluating a message or record failed unexpectedly (a bug, not the input's shape). */
  | 'MESSAGE_PROCESSING_FAILED'
  /** A message whose batch failed the same way repeatedly, kept aside so that its partition moves on. */
  | 'MESSAGE_SET_ASIDE'
  | 'DELIVERY_FAILED'
  | 'DEAD_LETTER_FAILED'
  | 'USAGE';

export class DetectorError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DetectorError';
    this.code = code;
  }
}

/** A short, single-line description of an arbitrary value for error messages (never the whole value). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  switch (typeof value) {
    case 'string':
      return `a string of ${value.length} characters`;
    case 'object':
      return 'an object';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof value}`;
  }
}
