/**
 * The node's side of backups: turns the control plane's backup, restore and drill commands into
 * calls on a datastore's backup part, with the node's own object store. Every object a backup wrote
 * is read back and checked here before the backup is reported; a failed backup leaves no object.
 */
import { createServer } from 'node:net'
import type { ObjectStoreSettings } from '../storage/object-store-settings.js'
import { CofferError, NotImplemented } from '../core/errors.js'
import type { ArchiveTarget, BackupAdmin, BackupLocation, StoredBackup } from '../guest/datastores/backup.js'
import type { Datastore, InstanceContext } from '../guest/datastores/datastore.js'
import { GUEST_PROTOCOL_VERSION, type ArchiveRef, type BackupCommand, type BackupRef, type BackupReport, type RestoreCommand, type TransferProgress } from '../guest/protocol.js'
import type { ObjectStore } from '../storage/object-store.js'
import { compare, verifyObject, type VerifyReport } from '../storage/verify-object.js'
import { tracePhase } from '../core/trace.js'

export interface BackupPlace {
  readonly store: ObjectStore
  readonly settings: ObjectStoreSettings
}

export function backupPartOf(ds: Datastore, datastore: string): BackupAdmin {
  if (!ds.backup) throw new NotImplemented(`Datastore ${datastore} has no backups.`)
  return ds.backup
}

export function locationOf(place: BackupPlace | undefined, node: string): BackupLocation {
  if (!place) throw new CofferError('INTERNAL', `node ${node} has no object store for backups`, { retryable: false })
  return { store: place.store, settings: place.settings }
}

const key = (base64: string): Buffer => Buffer.from(base64, 'base64')

export const storedBackup = (ref: BackupRef): StoredBackup => ({
  backupId: ref.backupId,
  prefix: ref.prefix,
  objects: ref.objects,
  dataKey: key(ref.dataKey),
  position: ref.position,
  takenAt: new Date(ref.takenAt),
})

export const archiveTarget = (ref: ArchiveRef, location: BackupLocation): ArchiveTarget => ({ location, prefix: ref.prefix, key: key(ref.key), instanceId: ref.instanceId })

/** Progress callbacks that publish at most twice a second. */
export function progressTo(publish: ((p: TransferProgress) => void) | undefined, id: string, kind: TransferProgress['kind']): (bytes: number) => void {
  let last = 0
  return (bytes) => {
    const now = Date.now()
    if (!publish || now - last < 500) return
    last = now
    publish({ protocol: GUEST_PROTOCOL_VERSION, id, kind, bytes, observedAt: now })
  }
}

/** Runs a backup, checks what it stored, and reports it; on any failure removes what it stored. */
export async function runBackup(
  part: BackupAdmin,
  ctx: InstanceContext,
  location: BackupLocation,
  command: BackupCommand,
  publish?: (p: TransferProgress) => void,
): Promise<BackupReport> {
  const dataKey = key(command.dataKey)
  const archive = command.archive ? archiveTarget(command.archive, location) : undefined
  const onProgress = progressTo(publish, command.backupId, 'backup')
  const cleanUp = async (): Promise<void> => {
    await location.store.deletePrefix(command.prefix).catch(() => undefined)
  }
  try {
    // What an attempt a crash cut short left under the prefix (partial files, unfinished uploads) goes first.
    await cleanUp()
    const outcome = await tracePhase(`backup ${command.backupId}: engine stream`, () => part.backup(ctx, {
      backupId: command.backupId,
      location,
      prefix: command.prefix,
      dataKey,
      ...(command.parent ? { parent: storedBackup(command.parent) } : {}),
      ...(archive ? { archive } : {}),
      onProgress,
    }))
    await tracePhase(`backup ${command.backupId}: read back`, async () => {
    for (const o of outcome.objects) {
      const expected = { key: o.key, size: o.size, sha256: o.sha256, dataKey, name: `backup ${command.backupId}` }
      // Read back while it was written (the fs store): judged here, and the object must be in place whole.
      const report = o.readBack ? await inPlace(location.store, compare(o.readBack, expected)) : await verifyObject(location.store, expected)
      if (!report.ok) throw new CofferError('OBJECT_CORRUPT', `backup ${command.backupId} did not read back as stored: ${report.problem}`, { retryable: false })
    }
    })
    const stored: StoredBackup = { backupId: command.backupId, prefix: command.prefix, objects: outcome.objects, dataKey, position: outcome.position, takenAt: outcome.takenAt }
    await tracePhase(`backup ${command.backupId}: tool verify`, async () => part.verify?.({ location, backup: stored, ...(archive ? { archive } : {}) }))
    return {
      strategy: part.strategy,
      objects: outcome.objects.map((o) => ({ key: o.key, size: o.size, sha256: o.sha256 })),
      dataBytes: outcome.dataBytes,
      storedBytes: outcome.objects.reduce((n, o) => n + o.size, 0),
      position: outcome.position,
      takenAt: outcome.takenAt.toISOString(),
    }
  } catch (err) {
    await cleanUp()
    throw err
  }
}

/** A read-back report, failed when the object is not under its key at the size read back. */
async function inPlace(store: ObjectStore, r: VerifyReport): Promise<VerifyReport> {
  if (!r.ok) return r
  const head = await store.head(r.key)
  return head?.size === r.size ? r : { ...r, ok: false, problem: `object ${r.key} is not in the store at the size read back (${head ? `${head.size} bytes` : 'missing'})` }
}

/** The restore request for a command: the chain's refs turned into stored backups and keys. */
export function restoreRequest(command: RestoreCommand, location: BackupLocation, onProgress: (bytes: number) => void) {
  return {
    location,
    chain: command.chain.map(storedBackup),
    ...(command.restoreTime ? { restoreTime: new Date(command.restoreTime) } : {}),
    ...(command.archive ? { archive: archiveTarget(command.archive, location) } : {}),
    onProgress,
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago: a drill's engine listens there, on no address of the pool. */
export const freeLoopbackPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer().once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
