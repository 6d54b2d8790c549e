/**
 * The wire format of the bus: JSON. Whatever crosses is serialised and parsed again, so a Date
 * arrives as its ISO string, `undefined` members vanish and class instances arrive as plain data,
 * exactly as over NATS. Errors cross as `{ code, message, details, retryable }` and are rebuilt as
 * the catalogue's class for their code, so the API maps them as it would a local one.
 */
import {
  BadRequest,
  CofferError,
  Conflict,
  type ErrorCode,
  Forbidden,
  NotFound,
  NotImplemented,
  OverLimit,
  Unauthorized,
  Unprocessable,
} from '../core/errors.js'
import type { WireError } from '../guest/protocol.js'

export const encode = (value: unknown): string => JSON.stringify(value === undefined ? null : value)
export const decode = <T>(text: string): T => JSON.parse(text) as T

/** The value as the other side of the bus sees it. */
export const overTheWire = <T>(value: T): T => decode<T>(encode(value))

export function errorToWire(err: unknown): WireError {
  if (err instanceof CofferError) {
    return { code: err.code, message: err.message, retryable: err.retryable, ...(err.details !== undefined ? { details: err.details } : {}) }
  }
  // Anything else is unexpected: retryable, as the task runner treats a plain Error.
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retryable: true }
}

const BY_CODE: Partial<Record<ErrorCode, (message: string, code: ErrorCode) => CofferError>> = {
  BAD_REQUEST: (m, c) => new BadRequest(m, c),
  VALIDATION: (m, c) => new BadRequest(m, c),
  MALFORMED_BODY: (m, c) => new BadRequest(m, c),
  UNAUTHORIZED: (m) => new Unauthorized(m),
  FORBIDDEN: (m) => new Forbidden(m),
  NOT_FOUND: (m, c) => new NotFound(m, c),
  FLAVOR_NOT_FOUND: (m, c) => new NotFound(m, c),
  DATASTORE_NOT_FOUND: (m, c) => new NotFound(m, c),
  DATASTORE_VERSION_NOT_FOUND: (m, c) => new NotFound(m, c),
  INSTANCE_NOT_FOUND: (m, c) => new NotFound(m, c),
  INSTANCE_NOT_READY: (m, c) => new Unprocessable(m, c),
  CONFLICT: (m, c) => new Conflict(m, c),
  OVER_LIMIT: (m) => new OverLimit(m),
  NOT_IMPLEMENTED: (m) => new NotImplemented(m),
}

export function errorFromWire(w: WireError): CofferError {
  const code = w.code as ErrorCode
  const make = BY_CODE[code]
  if (!make) return new CofferError(code, w.message, { retryable: w.retryable, details: w.details })
  const err = make(w.message, code)
  // The catalogue's classes fix these for errors made here; one made on a node keeps its own.
  Object.assign(err, { retryable: w.retryable, details: w.details })
  return err
}
