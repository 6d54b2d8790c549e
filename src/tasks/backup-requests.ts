/**
 * The one way a backup is asked for (the API, a schedule) and the one way one is deleted: every
 * check first, then the backup row, the instance's BACKUP status and the task in one transaction,
 * so a refused request changes nothing and an accepted one is never half recorded.
 */
import { randomUUID } from 'node:crypto'
import { BadRequest, Conflict, NotFound, NotImplemented, Unprocessable } from '../core/errors.js'
import { instanceStatus, isReady } from '../core/instance.js'
import { checkQuota, type QuotaValues } from '../core/quotas.js'
import * as backups from '../store/repos/backups.js'
import { findVersionById, manifestOf } from '../store/repos/datastores.js'
import { findClientInstance } from '../store/repos/instances.js'
import { quotaLimits, quotaUsage } from '../store/repos/quotas.js'
import { transition } from '../store/repos/transition.js'
import type { BackupRow, Db } from '../store/schema.js'
import { backupTaskKey, enqueue } from './queue.js'
import type { BackupKeys } from './steps/backup-keys.js'

export interface BackupRequest {
  readonly projectId: string
  /** The cloud admin may name another project's instance: then the backup is that project's. */
  readonly anyProject?: boolean
  readonly instanceId: string
  readonly name: string
  readonly description?: string | undefined
  /** Incremental to this backup (a completed one of the same instance). */
  readonly parentId?: string | undefined
  /** Incremental to the instance's newest completed backup (a full one when it has none). */
  readonly incremental?: boolean | undefined
  readonly scheduleId?: string | undefined
  /** Run a restore drill once it completed. */
  readonly verify?: boolean | undefined
}

export interface BackupRequestDeps {
  readonly keys: BackupKeys
  readonly quotaDefaults: QuotaValues
}

/** Queues the backup; resolves with its row (NEW). Throws, changing nothing, when it cannot be taken. */
export async function requestBackup(db: Db, deps: BackupRequestDeps, req: BackupRequest): Promise<BackupRow> {
  const name = req.name.trim()
  if (!name || name.length > 255) throw new BadRequest(`A backup needs a name of 1 to 255 characters, e.g. {"backup": {"name": "nightly", "instance": "<instance id>"}}.`)
  if ((req.description?.length ?? 0) > 512) throw new BadRequest('A backup description is at most 512 characters.')
  const id = randomUUID()
  const row = await db.transaction().execute(async (trx) => {
    const instance = await findClientInstance(trx, req.instanceId, req.anyProject ? undefined : req.projectId)
    if (!instance) throw new NotFound(`Resource ${req.instanceId} cannot be found.`, 'INSTANCE_NOT_FOUND')
    const version = await findVersionById(trx, instance.datastore_version_id)
    const caps = version ? manifestOf(version).capabilities : undefined
    if (!caps?.backup) throw new NotImplemented(`The datastore of instance ${instance.id} cannot be backed up.`)
    const parent = await parentOf(trx, instance.id, req)
    if (parent && !caps.incremental_backup) throw new BadRequest(`The datastore of instance ${instance.id} takes only full backups; leave out parent_id and incremental.`)
    const s = { taskStatus: instance.task_status, serviceStatus: instance.service_status, fault: instance.fault_message ? { message: instance.fault_message, created: '' } : null, stopped: Number(instance.stopped) === 1 }
    if (!isReady(s)) throw new Unprocessable(`Instance ${instance.id} is not ready to be backed up (status was ${instanceStatus(s)}); back it up once it is ACTIVE.`)
    checkQuota(await quotaLimits(trx, instance.project_id, deps.quotaDefaults), await quotaUsage(trx, instance.project_id), { backups: 1 })
    if (!(await transition(trx, instance.id, 'NONE', 'BACKUP'))) throw new Unprocessable(`Instance ${instance.id} is not ready: another operation began on it.`)
    const fields: Omit<BackupRow, 'created_at' | 'updated_at'> = {
      id,
      project_id: instance.project_id,
      instance_id: instance.id,
      name,
      description: req.description ?? null,
      parent_id: parent?.id ?? null,
      datastore_version_id: instance.datastore_version_id,
      status: 'NEW',
      status_detail: null,
      strategy: null,
      location: `backups/${id}/`,
      wrapped_key: deps.keys.newWrapped(id),
      objects: null,
      position: null,
      data_bytes: null,
      stored_bytes: null,
      checksum: null,
      taken_at: null,
      verified_at: null,
      verify_status: null,
      verify_detail: null,
      schedule_id: req.scheduleId ?? null,
    }
    await backups.insertBackup(trx, fields)
    await enqueue(trx, { instanceId: instance.id, kind: 'create-backup', input: { backupId: id, ...(req.verify ? { verify: true } : {}) } })
    return backups.findBackup(trx, id)
  })
  if (!row) throw new Error(`backup ${id} vanished inside its own transaction`)
  return row
}

async function parentOf(db: Db, instanceId: string, req: BackupRequest): Promise<BackupRow | undefined> {
  if (req.parentId) {
    const parent = await backups.findBackup(db, req.parentId, req.anyProject ? undefined : req.projectId)
    if (!parent) throw new NotFound(`Backup ${req.parentId} cannot be found.`)
    if (parent.instance_id !== instanceId) throw new BadRequest(`Backup ${parent.id} is of another instance; an incremental backup's parent must be of the same instance.`)
    if (parent.status !== 'COMPLETED') throw new Conflict(`Backup ${parent.id} is ${parent.status}; only a COMPLETED backup can be a parent.`)
    return parent
  }
  return req.incremental ? backups.latestCompleted(db, instanceId) : undefined
}

/**
 * Queues the backup's delete. Refused while it runs, or while another backup is incremental to it
 * (delete the chain from its tip).
 */
export async function requestBackupDelete(db: Db, backup: BackupRow): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (backups.RUNNING_BACKUP.includes(backup.status)) throw new Unprocessable(`Backup ${backup.id} is ${backup.status}; delete it once it has completed or failed.`)
    const children = await backups.childrenOf(trx, backup.id)
    if (children.length > 0) {
      throw new Conflict(`Backup ${backup.id} cannot be deleted: backup(s) ${children.map((c) => c.id).join(', ')} are incremental to it. Delete the chain from its newest backup first.`)
    }
    await enqueue(trx, { instanceId: backupTaskKey(backup.id), kind: 'delete-backup', input: { backupId: backup.id } })
  })
}

/** Queues a restore drill of a completed backup. */
export async function requestBackupVerify(db: Db, backup: BackupRow): Promise<void> {
  if (backup.status !== 'COMPLETED') throw new Conflict(`Backup ${backup.id} is ${backup.status}; only a COMPLETED backup can be verified.`)
  await enqueue(db, { instanceId: backupTaskKey(backup.id), kind: 'verify-backup', input: { backupId: backup.id } })
}
