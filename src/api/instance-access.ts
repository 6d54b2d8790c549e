/**
 * Trove's `access` of an instance, `{is_public, allowed_cidrs}`, in a create or update body. The
 * engine itself holds clients to allowed_cidrs (rendered into its own rules at each start); what it
 * cannot enforce is refused with a 400. Whether a public address can be had is asked of the nodes
 * (public-address.ts), as it depends on where the instance is or may go.
 */
import { z } from 'zod'
import { normalizeCidrs, parseCidr } from '../core/cidr.js'
import { BadRequest } from '../core/errors.js'
import type { DatastoreManifest } from '../core/manifest.js'
import type { InstanceRow } from '../store/schema.js'
import { parseBody } from './parse.js'

export const AccessBody = z.object({ is_public: z.boolean().optional(), allowed_cidrs: z.array(z.string()).optional() }, { error: 'must be {"is_public": true|false, "allowed_cidrs": [CIDR, ...]}' })
export type AccessRequest = z.infer<typeof AccessBody>

/** The columns an instance's access is kept in. */
export type AccessColumns = Pick<InstanceRow, 'is_public' | 'allowed_cidrs'>

/**
 * The access an instance gets from `req` on top of `current` (a field left out keeps its value; an
 * empty list lets any address in). Throws BadRequest for networks the engine cannot hold clients to.
 */
export function accessColumns(manifest: Pick<DatastoreManifest, 'name' | 'accessFamilies'>, req: AccessRequest, current: AccessColumns = { is_public: 0, allowed_cidrs: null }): AccessColumns {
  let cidrs = current.allowed_cidrs
  if (req.allowed_cidrs !== undefined) {
    const list = normalizeCidrs(req.allowed_cidrs)
    const families = manifest.accessFamilies ?? []
    if (list.length > 0 && families.length === 0) {
      throw new BadRequest(`Datastore '${manifest.name}' cannot hold clients to access.allowed_cidrs: the engine has no rule by client address (its bind only picks where it listens) and Coffer has no packet filter to use on this node.`)
    }
    const foreign = list.find((c) => !families.includes(parseCidr(c).family))
    if (foreign) throw new BadRequest(`Datastore '${manifest.name}' can hold clients only to IPv${families.join(' and IPv')} networks in access.allowed_cidrs, not ${foreign}.`)
    cidrs = list.length === 0 ? null : JSON.stringify(list)
  }
  return { is_public: req.is_public === undefined ? current.is_public : req.is_public ? 1 : 0, allowed_cidrs: cidrs }
}

/** Parses an `access` value as it stands in a body. */
export const parseAccess = (raw: unknown): AccessRequest => parseBody(z.object({ access: AccessBody }), { access: raw }).access
