/**
 * The one place where errors become HTTP answers, in Trove's fault shape:
 * `{"<faultName>": {"code": <status>, "message": "..."}}` (trove/common/wsgi.py Fault).
 */
import { randomUUID } from 'node:crypto'
import {
  BadRequest,
  CofferError,
  Conflict,
  Forbidden,
  NotFound,
  NotImplemented,
  OverLimit,
  Unauthorized,
  Unprocessable,
} from '../core/errors.js'

const FAULTS: readonly [new (...a: any[]) => CofferError, number, string][] = [
  [BadRequest, 400, 'badRequest'],
  [Unauthorized, 401, 'unauthorized'],
  [Forbidden, 403, 'forbidden'],
  [NotFound, 404, 'itemNotFound'],
  [Conflict, 409, 'conflict'],
  [OverLimit, 413, 'overLimit'],
  [Unprocessable, 422, 'unprocessableEntity'],
  [NotImplemented, 501, 'notImplemented'],
]

/** Fault names for statuses that come from the HTTP layer itself rather than from our errors. */
const BY_STATUS: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  413: 'overLimit',
  415: 'badMediaType',
  500: 'instanceFault',
  501: 'notImplemented',
  503: 'serviceUnavailable',
}

export interface FaultReply {
  readonly status: number
  readonly body: Record<string, { code: number; message: string }>
}

export function faultFor(err: unknown, log: (msg: string, err: unknown) => void): FaultReply {
  for (const [cls, status, name] of FAULTS) {
    if (err instanceof cls) return { status, body: { [name]: { code: status, message: err.message } } }
  }
  const status = httpStatusOf(err)
  if (status && status < 500) {
    const name = BY_STATUS[status] ?? 'badRequest'
    return { status, body: { [name]: { code: status, message: (err as Error).message } } }
  }
  // Unexpected: log it under an id and tell the caller only the id, as Trove does.
  const id = randomUUID()
  log(`internal error ${id}`, err)
  return {
    status: 500,
    body: { instanceFault: { code: 500, message: `Internal Server Error. Please keep this ID to help us figure out what went wrong: (${id}).` } },
  }
}

/**
 * Errors Fastify raises before a route runs (`FST_*`), as faults. A URL part longer than the
 * router takes names nothing that exists: 404, as for any unknown id.
 */
export function frameworkFault(err: unknown, log: (msg: string, err: unknown) => void): FaultReply {
  const code = (err as { code?: unknown })?.code
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return faultFor(new NotFound(`The resource could not be found: a part of the URL is longer than ${MAX_PARAM_LENGTH} characters.`), log)
  }
  if (code === 'FST_ERR_BAD_URL') return faultFor(new BadRequest('The URL is not valid: it has a part that does not decode (bad percent-encoding).'), log)
  return faultFor(err, log)
}

/** The longest URL part (an id, a name, `name@host`) the router takes. */
export const MAX_PARAM_LENGTH = 512

function httpStatusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode
  return typeof s === 'number' ? s : undefined
}

/** Keystone's own titles where they differ from Trove's fault names. */
const KEYSTONE_TITLES: Record<string, string> = { itemNotFound: 'Not Found', overLimit: 'Request Entity Too Large', notImplemented: 'Not Implemented' }

/** Keystone's error shape for `/v3` routes, which keystoneauth reads as `body.error.message`. */
export function keystoneError(f: FaultReply): { error: { code: number; title: string; message: string } } {
  const [name, fault] = Object.entries(f.body)[0] ?? ['instanceFault', { code: f.status, message: '' }]
  const title = KEYSTONE_TITLES[name] ?? name.replace(/^./, (c) => c.toUpperCase()).replace(/([a-z])([A-Z])/g, '$1 $2')
  return { error: { code: fault.code, title, message: fault.message } }
}
