/**
 * POST /instances: validate everything, then write the instance (BUILD) and its create task in one
 * transaction, so a bad request leaves nothing behind and a good one is never half-recorded. When
 * the node keeps a ready spare of the version, the instance is that spare (same transaction).
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { BadRequest, NotFound, OverLimit } from '../core/errors.js'
import type { Capability } from '../core/manifest.js'
import { checkQuota } from '../core/quotas.js'
import { SPARE_VOLUME_GB } from '../core/spares.js'
import { validateInitialSchema, validateInstanceName, validateUserHost } from '../core/validation.js'
import { findVersionById, manifestOf, markDatastoreUsed } from '../store/repos/datastores.js'
import { findFlavor } from '../store/repos/flavors.js'
import { findInstance, insertInstance, newInstanceRow, updateInstance } from '../store/repos/instances.js'
import { quotaLimits, quotaUsage } from '../store/repos/quotas.js'
import { claimSpare } from '../store/repos/spares.js'
import type { InstanceRow } from '../store/schema.js'
import type { CreateInstanceInput } from '../tasks/create-instance.js'
import { enqueue } from '../tasks/queue.js'
import { checkFlavorFits } from '../core/flavor-fit.js'
import { checkDatabaseCharacterSets } from './character-set-check.js'
import { AccessBody, accessColumns } from './instance-access.js'
import type { ApiContext } from './context.js'
import { requirePublicAddress } from './public-address.js'
import { parseBody } from './parse.js'
import { replicaRequest } from './replica-create.js'
import { resolveRestorePoint, RestorePointBody } from './restore-point.js'
import { requireConfiguration } from './routes/configurations.js'
import { defaultDatastore } from './default-datastore.js'
import { requireDatastore, requireVersionIn } from './routes/datastores.js'
import { defaultQuotas } from './routes/quotas.js'

const nameRef = z.object({ name: z.string() })
const CreateBody = z.object({
  instance: z.object({
    name: z.string({ error: 'is required' }),
    flavorRef: z.union([z.string(), z.number()], { error: 'is required (a flavor id; see `coffer flavor-list`)' }).transform(String),
    volume: z.object(
      { size: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)], { error: 'is required' }).pipe(z.number().int('must be a whole number of GB').min(1, 'must be at least 1 GB')) },
      { error: 'is required: {"size": GB}' },
    ),
    // Absent: the default datastore, as Trove's default_datastore.
    datastore: z.object({ type: z.string().optional(), version: z.string().optional() }, { error: 'must be an object: {"type": ..., "version": ...}' }).optional(),
    databases: z.array(z.object({ name: z.string(), character_set: z.string().optional(), collate: z.string().optional() })).default([]),
    users: z
      .array(z.object({ name: z.string(), password: z.string({ error: 'is required' }), host: z.string().optional(), databases: z.array(nameRef).default([]) }))
      .default([]),
    configuration: z.string().optional(),
    replica_of: z.string().optional(),
    auto_failover: z.boolean().optional(),
    sync: z.boolean().optional(),
    restorePoint: RestorePointBody.optional(),
    access: AccessBody.optional(),
  }),
})

/**
 * `scope` is the project a backup named in `restorePoint` is looked up in (undefined: any, for the
 * cloud admin); the instance is made in `projectId` either way.
 */
export async function createInstance(ctx: ApiContext, projectId: string, body: unknown, scope: string | undefined = projectId): Promise<InstanceRow> {
  const replica = await replicaRequest(ctx.db, scope, body)
  const { instance: req } = parseBody(CreateBody, replica?.body ?? body)
  validateInstanceName(req.name)
  if (replica && req.restorePoint) throw new BadRequest('A replica is seeded from its source; leave out restorePoint.')
  if (replica && req.datastore?.version && replica.source.datastore_version_id !== (await requireDatastore(ctx.db, req.datastore.type ?? '')).versions.find((v) => v.name === req.datastore?.version || v.id === req.datastore?.version)?.id) {
    throw new BadRequest(`A replica runs its source's datastore version; leave out datastore.`)
  }
  const restore = req.restorePoint ? await resolveRestorePoint(ctx.db, scope, req.restorePoint) : undefined
  if (restore && (req.databases.length > 0 || req.users.length > 0)) {
    throw new BadRequest('An instance restored from a backup gets the databases and users of the backup; leave out databases and users.')
  }
  if (restore && req.volume.size * 2 ** 30 < restore.dataBytes) {
    throw new BadRequest(`The volume is too small for the backup: its data is ${(restore.dataBytes / 2 ** 30).toFixed(2)} GB; ask for at least ${Math.ceil(restore.dataBytes / 2 ** 30)} GB.`)
  }
  const flavor = await findFlavor(ctx.db, req.flavorRef)
  if (!flavor) throw new BadRequest(`Resource ${req.flavorRef} cannot be found. See \`coffer flavor-list\` for the flavors there are.`, 'FLAVOR_NOT_FOUND')
  const ds = req.datastore?.type ? await requireDatastore(ctx.db, req.datastore.type) : restore ? await datastoreOfVersion(ctx, restore.versionId) : await defaultDatastore(ctx.db, ctx.settings)
  const version = req.datastore?.version ? requireVersionIn(ds, req.datastore.version) : restore ? ds.versions.find((v) => v.id === restore.versionId) : ds.versions.find((v) => v.id === ds.default_version_id)
  if (restore && version?.id !== restore.versionId) throw new BadRequest(`The backup is of another datastore version than ${ds.name} ${version?.name ?? ''}; leave out datastore to restore it as it was.`)
  if (!version) throw new NotFound(`Datastore '${ds.name}' has no default version; name one of ${ds.versions.map((v) => v.name).join(', ')}.`, 'DATASTORE_VERSION_NOT_FOUND')
  const manifest = manifestOf(version)
  const needs = (cap: Capability, asked: boolean, what: string) => {
    if (asked && !manifest.capabilities[cap]) throw new BadRequest(`Datastore '${ds.name}' does not support ${what} in a create request.`)
  }
  needs('databases', req.databases.length > 0, 'databases')
  needs('users', req.users.length > 0, 'users')
  validateInitialSchema(manifest.names, req.databases, req.users, ctx.settings.minPasswordLength)
  for (const u of req.users) validateUserHost(manifest, u.host)
  await checkDatabaseCharacterSets(ctx, ds.name, version.name, req.databases)
  const configuration = req.configuration === undefined ? undefined : await requireConfiguration(ctx.db, req.configuration, projectId)
  if (configuration && configuration.datastore_version_id !== version.id) {
    throw new BadRequest(`Configuration group ${configuration.id} is for another datastore version; the instance is ${ds.name} ${version.name}.`)
  }
  if (flavor.ram_mb > ctx.capacity.ramMb || flavor.vcpus > ctx.capacity.vcpus) {
    throw new OverLimit(`Flavor ${flavor.id} (${flavor.ram_mb} MB RAM, ${flavor.vcpus} vCPUs) is larger than any node can give: at most ${ctx.capacity.ramMb} MB RAM and ${ctx.capacity.vcpus} vCPUs.`)
  }
  checkFlavorFits(manifest, flavor, configuration ? JSON.parse(configuration.values) : {})
  const access = req.access ? accessColumns(manifest, req.access) : undefined
  if (access?.is_public) await requirePublicAddress(ctx.db, ds.name, null)
  if (req.volume.size > ctx.settings.maxVolumeGb) {
    throw new OverLimit(`Volume size ${req.volume.size} GB is over the largest allowed, ${ctx.settings.maxVolumeGb} GB.`)
  }

  const fresh = newInstanceRow({
    id: randomUUID(),
    project_id: projectId,
    name: req.name,
    flavor_id: flavor.id,
    volume_size: req.volume.size,
    datastore_version_id: version.id,
    configuration_id: configuration?.id ?? null,
  })
  if (req.sync && !manifest.synchronousReplication) throw new BadRequest(`Datastore ${ds.name} has no synchronous replication; leave out sync.`)
  const wanted = { ...fresh, ...(access ?? {}), ...(req.auto_failover ? { auto_failover: 1 } : {}), ...(req.sync ? { sync_replication: 1 } : {}) }
  const row = await ctx.db.transaction().execute(async (trx) => {
    // Counted inside the transaction so racing creates cannot both pass the quota.
    const count = replica?.count ?? 1
    checkQuota(await quotaLimits(trx, projectId, defaultQuotas(ctx.settings)), await quotaUsage(trx, projectId), { instances: count, volumes: req.volume.size * count })
    if (replica) {
      // Each replica is its own instance, seeded from the source by its own create task.
      const rows = Array.from({ length: count }, (_, i) => ({ ...wanted, id: i === 0 ? fresh.id : randomUUID(), name: count > 1 ? `${req.name}-${i + 1}` : req.name, replica_of: replica.source.id }))
      // Automatic failover is the set's: it is kept on its source.
      if (req.auto_failover !== undefined) await updateInstance(trx, replica.source.id, { auto_failover: req.auto_failover ? 1 : 0 })
      if (req.sync !== undefined) await updateInstance(trx, replica.source.id, { sync_replication: req.sync ? 1 : 0 })
      for (const r of rows) {
        await insertInstance(trx, r)
        await enqueue(trx, { instanceId: r.id, kind: 'create-instance', input: { instanceId: r.id, databases: [], users: [], replicaOf: replica.source.id } })
      }
      return rows[0]
    }
    // A spare's engine started with no access rules, and may sit on a node without public
    // addresses: an instance with either is built afresh.
    const spare = access?.allowed_cidrs || access?.is_public || restore || replica ? undefined : await claimSpare(trx, wanted)
    const id = spare?.id ?? fresh.id
    if (!spare) await insertInstance(trx, wanted)
    await markDatastoreUsed(trx, version.id)
    const users = req.users.map((u) => ({ ...u, password: ctx.sealer.seal(u.password) }))
    const input: CreateInstanceInput = { instanceId: id, databases: req.databases, users, ...(restore ? { restore: restore.input } : {}), ...(spare ? { fromSpare: { sameFlavor: spare.sameFlavor, ...(req.volume.size > SPARE_VOLUME_GB ? { growVolume: true } : {}) } } : {}) }
    await enqueue(trx, { instanceId: id, kind: 'create-instance', input })
    return spare ? await findInstance(trx, id) : wanted
  })
  if (!row) throw new Error('the claimed spare vanished inside its own transaction')
  ctx.kickTasks()
  return row
}

/** The datastore a version belongs to (the backup's, for a restore that names none). */
async function datastoreOfVersion(ctx: ApiContext, versionId: string) {
  const v = await findVersionById(ctx.db, versionId)
  const ds = v && (await ctx.db.selectFrom('datastores').select('name').where('id', '=', v.datastore_id).executeTakeFirst())
  if (!ds) throw new NotFound(`The backup's datastore version ${versionId} is no longer installed.`, 'DATASTORE_VERSION_NOT_FOUND')
  return requireDatastore(ctx.db, ds.name)
}
