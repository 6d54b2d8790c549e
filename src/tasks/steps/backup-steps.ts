/**
 * Steps of the backup workflows: each reads what it needs fresh from the state store, hands the
 * node one command with the keys unwrapped for it, and writes the end state it reached. Idempotent.
 */
import { createHash } from 'node:crypto'
import type { Bus } from '../../bus/bus.js'
import { CofferError, errorMessage, NotFound } from '../../core/errors.js'
import { faultOf } from '../../core/fault-message.js'
import type { ArchiveRef, BackupRef, BackupReport, DrillReport, GuestApi, RestoreCommand } from '../../guest/protocol.js'
import * as backups from '../../store/repos/backups.js'
import { findVersionById, manifestOf } from '../../store/repos/datastores.js'
import { findInstance } from '../../store/repos/instances.js'
import { listNodes } from '../../store/repos/nodes.js'
import { transition } from '../../store/repos/transition.js'
import type { BackupArchiveRow, BackupRow, Db } from '../../store/schema.js'
import type { RestoreInput } from '../create-instance.js'
import { archiveLabel, type BackupKeys } from './backup-keys.js'
import { instanceSpec, requireInstance } from './instance-spec.js'

export interface BackupStepDeps {
  readonly db: Db
  readonly bus: Bus
  readonly keys: BackupKeys
  readonly log: (msg: string) => void
}

/** The datastore and version names of a version id, and whether it keeps an archive. */
export async function versionOf(db: Db, versionId: string): Promise<{ datastore: string; version: string; pointInTime: boolean }> {
  const v = await findVersionById(db, versionId)
  if (!v) throw new NotFound(`datastore version ${versionId} no longer exists`)
  const ds = await db.selectFrom('datastores').select('name').where('id', '=', v.datastore_id).executeTakeFirstOrThrow()
  return { datastore: ds.name, version: v.name, pointInTime: manifestOf(v).capabilities.point_in_time_restore === true }
}

export function backupSteps(d: BackupStepDeps) {
  const { db, bus, keys } = d
  const requireBackup = async (id: string): Promise<BackupRow> => {
    const row = await backups.findBackup(db, id)
    if (!row) throw new NotFound(`Backup ${id} no longer exists.`)
    return row
  }
  const refOf = (row: BackupRow): BackupRef => {
    if (!row.taken_at) throw new CofferError('CONFLICT', `Backup ${row.id} has not completed.`, { retryable: false })
    return {
      backupId: row.id,
      prefix: row.location,
      objects: JSON.parse(row.objects ?? '[]'),
      dataKey: keys.unwrap(row.wrapped_key, row.id),
      position: JSON.parse(row.position ?? '{}'),
      takenAt: row.taken_at,
    }
  }
  const archiveRefOf = (a: BackupArchiveRow): ArchiveRef => ({ instanceId: a.instance_id, prefix: a.location, key: keys.unwrap(a.wrapped_key, archiveLabel(a.instance_id)) })
  /** The instance's node while it has one that is up; otherwise any up node serving the version. */
  const nodeFor = async (instanceId: string | undefined, versionId: string): Promise<GuestApi> => {
    const up = (await listNodes(db)).filter((n) => n.state === 'UP')
    const row = instanceId ? await findInstance(db, instanceId) : undefined
    if (row?.node && up.some((n) => n.name === row.node)) return bus.node(row.node)
    const { datastore, version } = await versionOf(db, versionId)
    const node = up.find((n) => n.manifests.some((m) => m.name === datastore && m.versions.some((v) => v.name === version)))
    if (!node) throw new CofferError('INSTANCE_NOT_READY', `No node that is up serves ${datastore} ${version}; try again when one is.`, { retryable: true })
    return bus.node(node.name)
  }

  /** The restore command for a chain ending at `tip` (and an archive replayed to `restoreTime`). */
  const restoreCommand = async (r: RestoreInput): Promise<RestoreCommand> => {
    const tip = r.backupId ? await requireBackup(r.backupId) : await pointInTimeBase(db, r.archiveOf!, r.restoreTime!)
    const chain = (await backups.chainOf(db, tip)).map(refOf)
    const archive = r.restoreTime ? await backups.findArchive(db, tip.instance_id) : undefined
    if (r.restoreTime && !archive) throw new CofferError('CONFLICT', `Instance ${tip.instance_id} has no archive to restore to a point in time from.`, { retryable: false })
    return { chain, ...(r.restoreTime ? { restoreTime: r.restoreTime } : {}), ...(archive ? { archive: archiveRefOf(archive) } : {}) }
  }

  return {
    requireBackup,
    refOf,

    async markBuilding(id: string): Promise<void> {
      await backups.setBackupStatus(db, id, ['NEW', 'BUILDING'], 'BUILDING')
    },

    /** Turns the instance's archive on (made once, kept after the instance), for point in time. */
    async enableArchive(backupId: string): Promise<void> {
      const b = await requireBackup(backupId)
      if (!(await versionOf(db, b.datastore_version_id)).pointInTime) return
      await backups.insertArchive(db, {
        instance_id: b.instance_id,
        project_id: b.project_id,
        datastore_version_id: b.datastore_version_id,
        location: `archives/${b.instance_id}/`,
        wrapped_key: keys.newWrapped(archiveLabel(b.instance_id)),
      })
      const archive = await backups.findArchive(db, b.instance_id)
      const row = await requireInstance(db, b.instance_id)
      await bus.node(row.node ?? '').archive(await instanceSpec(db, row), archiveRefOf(archive!))
    },

    async takeBackup(backupId: string, signal: AbortSignal): Promise<BackupReport> {
      const b = await requireBackup(backupId)
      const row = await requireInstance(db, b.instance_id)
      const parent = b.parent_id ? refOf(await requireBackup(b.parent_id)) : undefined
      const archive = await backups.findArchive(db, b.instance_id)
      return bus.node(row.node ?? '').backup(
        await instanceSpec(db, row),
        { backupId, prefix: b.location, dataKey: keys.unwrap(b.wrapped_key, b.id), ...(parent ? { parent } : {}), ...(archive ? { archive: archiveRefOf(archive) } : {}) },
        { signal },
      )
    },

    /** COMPLETED with what the node stored and checked; the instance goes back to serving as ACTIVE. */
    async markCompleted(backupId: string, r: BackupReport): Promise<void> {
      const b = await requireBackup(backupId)
      const checksum = createHash('sha256')
      for (const o of r.objects) checksum.update(o.sha256)
      await backups.setBackupStatus(db, backupId, ['NEW', 'BUILDING', 'SAVING'], 'COMPLETED', {
        strategy: r.strategy,
        objects: JSON.stringify(r.objects),
        position: JSON.stringify(r.position),
        data_bytes: r.dataBytes,
        stored_bytes: r.storedBytes,
        checksum: checksum.digest('hex'),
        taken_at: r.takenAt,
        status_detail: null,
      })
      await transition(db, b.instance_id, 'BACKUP', 'NONE')
    },

    /** The backup failed for good: FAILED with why, and the instance goes back to ACTIVE (its engine kept serving). */
    async markFailed(backupId: string, err: CofferError): Promise<void> {
      const b = await backups.findBackup(db, backupId)
      if (!b) return
      await backups.setBackupStatus(db, backupId, backups.RUNNING_BACKUP, 'FAILED', { status_detail: faultOf(err).message })
      await transition(db, b.instance_id, 'BACKUP', 'NONE')
      d.log(`backup ${backupId} of instance ${b.instance_id} failed: ${err.message}`)
    },

    async instanceDeleting(backupId: string): Promise<boolean> {
      const b = await backups.findBackup(db, backupId)
      const row = b ? await findInstance(db, b.instance_id) : undefined
      return !row || row.task_status === 'DELETING'
    },

    /** Removes the backup's objects from the store (through a node that can reach it). */
    async removeObjects(backupId: string): Promise<void> {
      const b = await backups.findBackup(db, backupId)
      if (!b) return
      const { datastore } = await versionOf(db, b.datastore_version_id)
      const archive = await backups.findArchive(db, b.instance_id)
      const ref: BackupRef = { ...refOf({ ...b, taken_at: b.taken_at ?? b.created_at }) }
      await (await nodeFor(b.instance_id, b.datastore_version_id)).removeBackup(datastore, ref, archive ? archiveRefOf(archive) : undefined)
    },

    /**
     * Forgets the backup; when its instance is gone and this was its last backup, its archive goes
     * too (nothing could restore from it any more).
     */
    async forget(backupId: string): Promise<void> {
      const b = await backups.findBackup(db, backupId)
      if (!b) return
      await backups.deleteBackupRow(db, backupId)
      const archive = await backups.findArchive(db, b.instance_id)
      if (!archive || (await findInstance(db, b.instance_id)) || (await backups.completedBackupsOf(db, b.instance_id)).length > 0) return
      const { datastore } = await versionOf(db, archive.datastore_version_id)
      await (await nodeFor(undefined, archive.datastore_version_id)).removeArchive(datastore, archiveRefOf(archive))
      await backups.deleteArchive(db, b.instance_id)
    },

    async markDeleteFailed(backupId: string, err: CofferError): Promise<void> {
      await backups.updateBackup(db, backupId, { status: 'DELETE_FAILED', status_detail: faultOf(err).message })
    },

    restoreCommand,

    /** Lays the backup (and archive) into the new instance's envelope and starts its engine. */
    async restoreInto(instanceId: string, restore: RestoreInput, signal: AbortSignal): Promise<void> {
      const row = await requireInstance(db, instanceId)
      const command = await restoreCommand(restore)
      await bus.node(row.node ?? '').restore(await instanceSpec(db, row), command, { signal })
    },

    async drill(backupId: string, signal: AbortSignal): Promise<DrillReport> {
      const b = await requireBackup(backupId)
      const { datastore, version } = await versionOf(db, b.datastore_version_id)
      const command = { chain: (await backups.chainOf(db, b)).map(refOf) }
      return (await nodeFor(b.instance_id, b.datastore_version_id)).drill(datastore, version, command, { signal })
    },

    async markVerified(backupId: string, r: DrillReport): Promise<void> {
      await backups.updateBackup(db, backupId, {
        verified_at: new Date().toISOString(),
        verify_status: 'passed',
        verify_detail: `restored into a throwaway engine in ${(r.ms / 1000).toFixed(1)} s; read ${r.tables} table(s) in ${r.databases} database(s)`,
      })
    },

    async markVerifyFailed(backupId: string, err: unknown): Promise<void> {
      const detail = `RESTORE DRILL FAILED: ${err instanceof CofferError ? faultOf(err).message : errorMessage(err)}`
      await backups.updateBackup(db, backupId, { verified_at: new Date().toISOString(), verify_status: 'failed', verify_detail: detail, status_detail: detail })
      d.log(`backup ${backupId}: ${detail}`)
    },
  }
}

/** The newest completed backup of `instanceId` taken at or before `time`: a point-in-time restore starts from it. */
async function pointInTimeBase(db: Db, instanceId: string, time: string): Promise<BackupRow> {
  const base = (await backups.completedBackupsOf(db, instanceId)).filter((b) => b.taken_at && b.taken_at <= time).at(-1)
  if (!base) throw new CofferError('BAD_REQUEST', `Instance ${instanceId} has no completed backup taken before ${time}.`, { retryable: false })
  return base
}

export type BackupSteps = ReturnType<typeof backupSteps>
