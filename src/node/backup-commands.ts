/**
 * The node's backup commands: a backup taken, an instance restored, a restore drilled in a
 * throwaway envelope, backups and archives removed, and instances' archives turned on and shipped
 * (archive-shipper.ts). The work on stored objects is node-backups.ts; what starts or stops an
 * engine is one lifecycle change of its instance (lifecycle.ts).
 */
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ComputeDriver } from '../compute/compute-driver.js'
import { CofferError, errorMessage, NotImplemented } from '../core/errors.js'
import { tracePhase } from '../core/trace.js'
import { writeFileAtomic } from '../guest/datastores/common/files.js'
import type { Datastore } from '../guest/datastores/datastore.js'
import type { ArchiveRef, BackupCommand, BackupRef, BackupReport, CallOptions, DrillReport, InstanceSpec, RestoreCommand, TransferProgress } from '../guest/protocol.js'
import { ArchiveShipper } from './archive-shipper.js'
import type { InstanceAccess } from './engine-commands.js'
import { lifecycle } from './lifecycle.js'
import { archiveTarget, backupPartOf, type BackupPlace, freeLoopbackPort, locationOf, progressTo, restoreRequest, runBackup, storedBackup } from './node-backups.js'
import { holdPlace } from './place-hold.js'
import type { SpecBook } from './spec-book.js'

export interface BackupCommandsOptions {
  /** The node's name, in errors. */
  readonly name: string
  readonly compute: ComputeDriver
  readonly datastores: Readonly<Record<string, Datastore>>
  /** The node's specs: an archive is remembered with its instance's. */
  readonly book: SpecBook
  readonly log: (msg: string) => void
  /** Where backups and archives go; without one every command here fails. */
  readonly backupPlace?: BackupPlace
  /** Sends how far a backup or restore has got; absent: no progress is told. */
  readonly publishProgress?: (p: TransferProgress) => void
  readonly instances: InstanceAccess
}

/** Where a drill marks its throwaway envelope, so one left by a crash is found and removed. */
const DRILL_MARK = 'drill.json'

export class BackupCommands {
  readonly #o: BackupCommandsOptions
  #shipper: ArchiveShipper | undefined

  constructor(o: BackupCommandsOptions) {
    this.#o = o
  }

  async backup(spec: InstanceSpec, command: BackupCommand, options: CallOptions = {}): Promise<BackupReport> {
    const part = backupPartOf(this.#o.instances.datastore(spec), spec.datastore)
    const ctx = await this.#o.instances.requireContext(spec, options.signal)
    return runBackup(part, ctx, locationOf(this.#o.backupPlace, this.#o.name), command, this.#o.publishProgress)
  }

  restore(spec: InstanceSpec, command: RestoreCommand, options: CallOptions = {}): Promise<void> {
    const { signal } = options
    return lifecycle(
      spec,
      async () => {
        await this.#o.instances.takeAddress(spec)
        const ds = this.#o.instances.datastore(spec)
        const part = backupPartOf(ds, spec.datastore)
        const location = locationOf(this.#o.backupPlace, this.#o.name)
        const ctx = await this.#o.instances.requireContext(spec, signal)
        const hold = await holdPlace(ctx, spec.datastore)
        try {
          await tracePhase(`restore ${spec.instanceId}: lay down`, () => part.restore(ctx, restoreRequest(command, location, progressTo(this.#o.publishProgress, spec.instanceId, 'restore'))))
        } finally {
          await hold.release()
        }
        signal?.throwIfAborted()
        const limited = await tracePhase(`restore ${spec.instanceId}: limits`, () => this.#o.instances.limitedContext(spec, signal))
        await tracePhase(`restore ${spec.instanceId}: engine start`, () => ds.engine.start(limited))
      },
      signal,
    )
  }

  async drill(datastore: string, version: string, command: RestoreCommand, options: CallOptions = {}): Promise<DrillReport> {
    const started = Date.now()
    const ds = this.#o.datastores[datastore]
    if (!ds) throw new CofferError('DATASTORE_NOT_FOUND', `This node has no datastore ${datastore}.`, { retryable: false })
    const part = backupPartOf(ds, datastore)
    const location = locationOf(this.#o.backupPlace, this.#o.name)
    const spec: InstanceSpec = { instanceId: randomUUID(), datastore, version, address: '127.0.0.1', port: await freeLoopbackPort(), flavor: { ramMb: 1024, vcpus: 1 } }
    const id = command.chain.at(-1)?.backupId ?? spec.instanceId
    await this.#o.compute.createEnvelope(spec.instanceId)
    await writeFileAtomic(join(this.#o.compute.paths(spec.instanceId).guestDir, DRILL_MARK), JSON.stringify(spec), { mode: 0o600 })
    try {
      const ctx = await this.#o.instances.requireContext(spec, options.signal)
      await part.restore(ctx, restoreRequest(command, location, progressTo(this.#o.publishProgress, id, 'restore')))
      await ds.engine.start(ctx)
      const counts = await part.check(ctx)
      return { ...counts, ms: Date.now() - started }
    } finally {
      await this.#removeDrill(spec)
    }
  }

  async #removeDrill(spec: InstanceSpec): Promise<void> {
    await this.#o.instances.stopEngine(spec).catch((err) => this.#o.log(`drill ${spec.instanceId}: could not stop its engine: ${errorMessage(err)}`))
    await this.#o.compute.destroyEnvelope(spec.instanceId)
  }

  /** Removes the throwaway envelopes of drills a crash interrupted (found by their mark). */
  async removeLeftoverDrills(): Promise<void> {
    for (const id of await this.#o.compute.listEnvelopes()) {
      const mark = await readFile(join(this.#o.compute.paths(id).guestDir, DRILL_MARK), 'utf8').catch(() => undefined)
      if (mark === undefined) continue
      this.#o.log(`removing the restore drill ${id} a crash left behind`)
      await this.#removeDrill(JSON.parse(mark) as InstanceSpec).catch((err) => this.#o.log(`drill ${id}: could not remove it: ${errorMessage(err)}`))
    }
  }

  async removeBackup(datastore: string, backup: BackupRef, archive?: ArchiveRef): Promise<void> {
    const ds = this.#o.datastores[datastore]
    const location = locationOf(this.#o.backupPlace, this.#o.name)
    if (ds?.backup?.remove) {
      await ds.backup.remove({ location, backup: storedBackup(backup), ...(archive ? { archive: archiveTarget(archive, location) } : {}) })
    }
    await location.store.deletePrefix(backup.prefix)
  }

  async removeArchive(datastore: string, archive: ArchiveRef): Promise<void> {
    const location = locationOf(this.#o.backupPlace, this.#o.name)
    await this.#o.datastores[datastore]?.backup?.archiving?.remove(archiveTarget(archive, location))
    await location.store.deletePrefix(archive.prefix)
  }

  archive(spec: InstanceSpec, archive: ArchiveRef): Promise<void> {
    return lifecycle(spec, async () => {
      const archiving = backupPartOf(this.#o.instances.datastore(spec), spec.datastore).archiving
      if (!archiving) throw new NotImplemented(`Datastore ${spec.datastore} has no point-in-time archive.`)
      const before = this.#o.book.get(spec.instanceId)
      await this.#o.book.put({ spec, running: before?.running ?? false, archive })
      await archiving.enable(await this.#o.instances.requireContext(spec), archiveTarget(archive, locationOf(this.#o.backupPlace, this.#o.name)))
    })
  }

  /**
   * Every `intervalMs`, ships the archive of each running instance that has one, closing the
   * engine's current file when it is older than `maxAgeSeconds`.
   */
  startArchiving(intervalMs: number, maxAgeSeconds: number): void {
    this.#shipper?.stop()
    const place = this.#o.backupPlace
    if (!place) return
    this.#shipper = new ArchiveShipper({
      archived: () => this.#o.book.running().filter((d) => d.archive && this.#o.instances.datastore(d.spec).backup?.archiving),
      ship: async (d) => {
        const ctx = await this.#o.instances.requireContext(d.spec)
        return this.#o.instances.datastore(d.spec).backup!.archiving!.ship(ctx, archiveTarget(d.archive!, locationOf(place, this.#o.name)), { maxAgeSeconds })
      },
      log: this.#o.log,
    })
    this.#shipper.start(intervalMs)
  }

  stopArchiving(): void {
    this.#shipper?.stop()
  }

  /** Epoch ms of the last change shipped in the instance's archive; undefined before any. */
  archivedThrough(instanceId: string): number | undefined {
    return this.#shipper?.archivedThrough(instanceId)
  }
}
