import type { z } from 'zod'
import { z as zod } from 'zod'
import { BadRequest } from '../core/errors.js'
import { validateLabel } from '../core/validation.js'

/**
 * Checks a body against its schema, answering 400 in Trove's wording with the path of the first
 * problem, e.g. `Validation error: instance['volume']['size']: must be at least 1`.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null) throw new BadRequest('Validation error: the request needs a JSON body.', 'VALIDATION')
  const r = schema.safeParse(body)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const path = issue ? issue.path.map((p, i) => (i === 0 ? String(p) : `[${typeof p === 'number' ? p : `'${String(p)}'`}]`)).join('') : ''
  throw new BadRequest(`Validation error: ${path || 'body'}: ${issue?.message ?? 'invalid'}`, 'VALIDATION')
}

/** A name that is a label (configuration group, flavor): validateLabel's rules, as a schema field. */
export const labelField = (kind: string, maxLength = 255) =>
  zod.string().superRefine((name, c) => {
    try {
      validateLabel(kind, name, maxLength)
    } catch (err) {
      c.addIssue({ code: 'custom', message: (err as Error).message })
    }
  })
