/**
 * Users and root on a replica set whose engine does not replicate them (manifest `usersReplicate:
 * false`, Redis's ACLs): after each change on the source, every ready replica is made to hold the
 * source's users again, so a login made, changed or dropped on the source is the same on its
 * replicas. A replica being built gets them at its seed and its start, and from here once its engine
 * runs; a stopped one, when it starts again.
 */
import { CofferError } from '../core/errors.js'
import { instanceStatus, isReady } from '../core/instance.js'
import type { DatastoreManifest } from '../core/manifest.js'
import type { GuestApi, InstanceSpec, SchemaOp } from '../guest/protocol.js'
import type { InstanceRow } from '../store/schema.js'
import type { ApiContext } from './context.js'
import { statusInputs } from './views/instance.js'

const USER_OPS: ReadonlySet<SchemaOp['op']> = new Set(['create-users', 'delete-user', 'update-user', 'grant', 'revoke', 'enable-root', 'disable-root'])

/** Whether `op` on an instance of this datastore must be copied to its replicas by Coffer. */
export const copiedToReplicas = (manifest: DatastoreManifest, op: SchemaOp): boolean => manifest.usersReplicate === false && USER_OPS.has(op.op)

export async function copyUsersToReplicas(ctx: ApiContext, source: { row: InstanceRow; api: GuestApi; spec: InstanceSpec }): Promise<void> {
  const replicas = await ctx.db.selectFrom('instances').selectAll().where('replica_of', '=', source.row.id).orderBy('created_at').execute()
  const ready = replicas.filter((r) => isReady(statusInputs(r)))
  // A replica being built copies the users when its engine starts, and may then sync for a while
  // before it is ACTIVE: one whose engine runs already is brought up to date too, as far as it can be.
  const building = replicas.filter((r) => instanceStatus(statusInputs(r)) === 'BUILD')
  if (ready.length === 0 && building.length === 0) return
  const ref = await source.api.prepareSource(source.spec)
  const failed: string[] = []
  for (const r of ready) {
    const { api, spec } = await ctx.guestOf(r)
    await api.copyReplicaUsers(spec, ref).catch((err: Error) => failed.push(`${r.id} (${err.message})`))
  }
  for (const r of building) {
    await ctx.guestOf(r).then(({ api, spec }) => api.copyReplicaUsers(spec, ref)).catch(() => undefined)
  }
  if (failed.length > 0) {
    throw new CofferError(
      'ENGINE_UNREACHABLE',
      `The change was made on instance ${source.row.id}, but its replica(s) ${failed.join('; ')} did not get it: this datastore does not replicate users, so Coffer copies them all at each user or root change on the source: the next one, once the replicas answer, brings them up to date.`,
      { retryable: true },
    )
  }
}
