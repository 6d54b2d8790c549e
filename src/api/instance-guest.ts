/**
 * What the database, user and root routes share: find the instance in the caller's project, make
 * sure it is ACTIVE and that its datastore has the capability, and reach its guest.
 */
import type { FastifyRequest } from 'fastify'
import { BadRequest, NotFound, NotImplemented, Unprocessable } from '../core/errors.js'
import { isReady } from '../core/instance.js'
import type { Capability, DatastoreManifest } from '../core/manifest.js'
import type { GuestApi, InstanceSpec, SchemaOp } from '../guest/protocol.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findClientInstance } from '../store/repos/instances.js'
import type { InstanceRow } from '../store/schema.js'
import { projectScope } from './auth.js'
import type { ApiContext } from './context.js'
import { copiedToReplicas, copyUsersToReplicas } from './replica-users.js'
import { statusInputs } from './views/instance.js'

export interface ReadyInstance {
  readonly row: InstanceRow
  readonly manifest: DatastoreManifest
  readonly spec: InstanceSpec
  readonly api: GuestApi
  schema<T = void>(op: SchemaOp): Promise<T>
}

export type InstanceParams = { Params: { projectId: string; instanceId: string } }

export async function readyInstance(ctx: ApiContext, req: FastifyRequest<InstanceParams>, capability: Capability): Promise<ReadyInstance> {
  const row = await findClientInstance(ctx.db, req.params.instanceId, projectScope(req))
  if (!row) throw new NotFound(`Resource ${req.params.instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
  const version = await findVersionById(ctx.db, row.datastore_version_id)
  if (!version) throw new NotFound(`The datastore version of instance ${row.id} no longer exists.`)
  const manifest = manifestOf(version)
  if (!manifest.capabilities[capability]) {
    throw new NotImplemented(`Datastore ${manifest.name} does not support ${capability.replace('_', ' ')} on instances.`)
  }
  if (!isReady(statusInputs(row))) throw new Unprocessable(`Instance ${row.id} is not ready.`)
  const { api, spec } = await ctx.guestOf(row)
  return {
    row,
    manifest,
    spec,
    api,
    schema: async <T>(op: SchemaOp) => {
      // A replica is read-only: its users, databases and root are its source's, through replication.
      if (row.replica_of && !op.op.startsWith('list-')) {
        throw new BadRequest(`Instance ${row.id} is a replica of ${row.replica_of}: make this change on the source, whose users, databases and root reach its replicas through replication.`)
      }
      const result = (await api.schema(spec, op)) as T
      if (copiedToReplicas(manifest, op)) await copyUsersToReplicas(ctx, { row, api, spec })
      return result
    },
  }
}

/** Trove pages lists of names with `limit` and `marker` (the last name of the previous page). */
export function page<T extends { name: string }>(items: readonly T[], query: { limit?: string; marker?: string }, nextHref: (marker: string, limit: number) => string) {
  const sorted = [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const start = query.marker ? sorted.findIndex((i) => i.name > (query.marker as string)) : 0
  const limit = query.limit ? Math.max(1, Number(query.limit) || 1) : sorted.length
  const from = start < 0 ? sorted.length : start
  const items_ = sorted.slice(from, from + limit)
  const last = items_.at(-1)
  const more = from + limit < sorted.length && last
  return { items: items_, links: more ? [{ rel: 'next', href: nextHref(last.name, limit) }] : [] }
}
