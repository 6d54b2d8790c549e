/**
 * The error catalogue. Errors are thrown anywhere with a stable code and a message a user can act
 * on; `api/errors.ts` maps the class to Trove's fault name and HTTP status, and nowhere else does.
 * Secrets never enter a message or a cause.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION'
  | 'MALFORMED_BODY'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'FLAVOR_NOT_FOUND'
  | 'DATASTORE_NOT_FOUND'
  | 'DATASTORE_VERSION_NOT_FOUND'
  | 'INSTANCE_NOT_FOUND'
  | 'INSTANCE_NOT_READY'
  | 'CONFLICT'
  | 'OVER_LIMIT'
  | 'NOT_IMPLEMENTED'
  | 'ENGINE'
  /** An engine could not listen on its port: another process holds it. */
  | 'PORT_IN_USE'
  | 'TIMEOUT'
  | 'INTERNAL'
  // Object storage (storage/): a key that is not there, a key refused, stored bytes that fail their check.
  | 'OBJECT_NOT_FOUND'
  | 'OBJECT_KEY_INVALID'
  /** An object's checksum, GCM tag or framing does not match: altered, truncated, or the wrong key (not retryable). */
  | 'OBJECT_CORRUPT'
  /** A backup or restore tool (the engine's own, or zstd) failed; the message carries its own words (not retryable). */
  | 'BACKUP_TOOL_FAILED'
  // Engine failures, thrown by guest code; `retryable` says whether the same step may succeed again.
  /** The engine exited while starting for a reason not known to be lasting (retryable). */
  | 'ENGINE_START_FAILED'
  /** The engine did not become ready in time (retryable: a busy node may be slow). */
  | 'ENGINE_START_TIMEOUT'
  /** Nothing answers on the engine's socket: stopped, or not up yet (retryable). */
  | 'ENGINE_UNREACHABLE'
  /** The engine refuses Coffer's own service login (not retryable: the password will not change by itself). */
  | 'ENGINE_AUTH_FAILED'
  /** The engine refused its configuration file or a value in it (not retryable). */
  | 'ENGINE_CONFIG_INVALID'
  /** The instance has no data folder yet: start before prepare (not retryable). */
  | 'ENGINE_NOT_PREPARED'
  /** What runs or lies on the volume contradicts the guest's records, and guessing could harm data (not retryable). */
  | 'ENGINE_STATE_CONFLICT'
  /** The engine process outlived every stop signal (retryable: a process in uninterruptible I/O ends later). */
  | 'ENGINE_STOP_FAILED'
  /**
   * The instance's port is taken by another process. Not retryable on the same port: the caller
   * moves the instance to another free port (or address) instead.
   */
  | 'PORT_IN_USE'
  /** An engine binary or tool is not installed or not executable on the node (not retryable). */
  | 'BINARY_MISSING'
  /** The volume or the node's disk is full (not retryable until space is freed). */
  | 'DISK_FULL'
  /** The engine's OS account is missing or unusable on the node (not retryable). */
  | 'OS_ACCOUNT_MISSING'
  /** A guest secret file exists but cannot be read (not retryable). */
  | 'SECRET_UNREADABLE'

export interface CofferErrorOptions {
  readonly cause?: unknown
  /** false when retrying the same step cannot help (bad input, missing binary). Default: true. */
  readonly retryable?: boolean
  /**
   * What only an administrator should see: host paths, engine log excerpts. Kept out of `message`,
   * which tenants see; recorded as the instance's `fault.details`.
   */
  readonly details?: string | undefined
}

export class CofferError extends Error {
  readonly retryable: boolean
  readonly details: string | undefined
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: CofferErrorOptions = {},
  ) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.retryable = options.retryable ?? true
    this.details = options.details
  }
}

/** 400 badRequest: the request itself is wrong; nothing was changed. */
export class BadRequest extends CofferError {
  constructor(message: string, code: ErrorCode = 'BAD_REQUEST') {
    super(code, message, { retryable: false })
  }
}
/** 401 unauthorized: no token, or a token that is unknown or expired. */
export class Unauthorized extends CofferError {
  constructor(message = 'The request you have made requires authentication.') {
    super('UNAUTHORIZED', message, { retryable: false })
  }
}
/** 403 forbidden: authenticated, but not allowed here (other project, admin-only route). */
export class Forbidden extends CofferError {
  constructor(message: string) {
    super('FORBIDDEN', message, { retryable: false })
  }
}
/** 404 itemNotFound. */
export class NotFound extends CofferError {
  constructor(message: string, code: ErrorCode = 'NOT_FOUND') {
    super(code, message, { retryable: false })
  }
}
/** 409 conflict: the resource exists or is in a state that forbids the change. */
export class Conflict extends CofferError {
  constructor(message: string, code: ErrorCode = 'CONFLICT') {
    super(code, message, { retryable: false })
  }
}
/** 422 unprocessableEntity: valid request, but the instance is not in a state to take it (Trove). */
export class Unprocessable extends CofferError {
  constructor(message: string, code: ErrorCode = 'INSTANCE_NOT_READY') {
    super(code, message, { retryable: false })
  }
}
/** 413 overLimit: a quota or size limit would be exceeded. */
export class OverLimit extends CofferError {
  constructor(message: string) {
    super('OVER_LIMIT', message, { retryable: false })
  }
}
/** 501 notImplemented: the datastore's manifest does not offer this capability. */
export class NotImplemented extends CofferError {
  constructor(message: string) {
    super('NOT_IMPLEMENTED', message, { retryable: false })
  }
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))
