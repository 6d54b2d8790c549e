/**
 * What of a failure tenants may read. A task's error can carry host paths (the home, volumes,
 * binaries) or engine log excerpts; tenants get the message without them, administrators the
 * whole text as the fault's details.
 */
import type { CofferError } from './errors.js'

// An absolute path of two or more parts (`/var/lib/coffer/instances/…`), or a home-relative one.
const PATH = /(?:~|\/)(?:[\w.@+-]+\/)+[\w.@+-]*/g

/** `message` with every host path replaced by `<path>` and anything after a line break dropped. */
export function tenantMessage(message: string): string {
  const firstLine = message.split('\n', 1)[0] ?? ''
  return firstLine.replace(PATH, '<path>').trim() || 'The operation failed; an administrator can see the details.'
}

/** The fault to record for a failed task: a tenant-safe message, and details for administrators. */
export function faultOf(err: Pick<CofferError, 'message' | 'details'>): { readonly message: string; readonly details: string | null } {
  const message = tenantMessage(err.message)
  const details = [err.message === message ? undefined : err.message, err.details].filter((x): x is string => !!x).join('\n\n')
  return { message, details: details || null }
}
