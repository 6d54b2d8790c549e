/**
 * Keeps each datastore's pool of spares (core/spares.ts) at its wanted size, looking every
 * second (five times a second while a pool is short). A spare is built and torn down by the ordinary create and delete tasks, so it is as
 * durable as any instance: a crash while building one resumes it.
 */
import { randomUUID } from 'node:crypto'
import { errorMessage } from '../core/errors.js'
import { isBuilding, isDeleting } from '../core/instance.js'
import { planSpares, SPARE_VOLUME_GB, wantedSpares, type SparePolicy, type SparePool } from '../core/spares.js'
import { listDatastores, usedDatastores } from '../store/repos/datastores.js'
import { insertInstance, newInstanceRow } from '../store/repos/instances.js'
import { clientsCreating, isClaimable, isSpoilt, listSpares, SPARE_PROJECT, spareFlavor } from '../store/repos/spares.js'
import type { Db } from '../store/schema.js'
import type { CreateInstanceInput } from './create-instance.js'
import { enqueue, retireSpare } from './queue.js'

export interface SpareKeeperOptions {
  readonly db: Db
  readonly policy: SparePolicy
  /** This build of Coffer (build-id.ts), stamped on each spare it makes. */
  readonly build: string
  /** Wakes the task runner after tasks were queued. */
  readonly kickTasks: () => void
  readonly log: (msg: string) => void
  readonly intervalMs?: number
  /** After a spare of a version failed, no new one is tried for this long. */
  readonly backoffMs?: number
}

export class SpareKeeper {
  readonly #o: Required<SpareKeeperOptions>
  readonly #lastFailure = new Map<string, number>()
  /** When each spare was last retired: one whose delete failed is retried only after the back-off. */
  readonly #retiredAt = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #current: Promise<void> | undefined
  #stopped = false

  constructor(o: SpareKeeperOptions) {
    this.#o = { intervalMs: 2000, backoffMs: 60_000, ...o }
  }

  /**
   * Looks at once, then every interval (with no spares wanted, to take down those an earlier run
   * made); every fifth of it while a pool is short, so each new spare follows the last closely.
   */
  start(): void {
    const look = (): void => {
      this.#current = this.#once()
        .catch((err) => {
          this.#o.log(`spares: ${errorMessage(err)}`)
          return false
        })
        .then((refilling) => {
          if (!this.#stopped) this.#timer = setTimeout(look, refilling ? this.#o.intervalMs / 5 : this.#o.intervalMs).unref()
        })
    }
    look()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#current
  }

  /** One look; resolves true while some pool is short. */
  async #once(): Promise<boolean> {
    const { db } = this.#o
    for (const [id, at] of this.#retiredAt) if (Date.now() - at >= this.#o.backoffMs) this.#retiredAt.delete(id)
    const pools = await this.#pools()
    const actions = planSpares(pools, { nowMs: Date.now(), backoffMs: this.#o.backoffMs, clientsCreating: await clientsCreating(db) })
    for (const a of actions) {
      if (a.kind === 'make') await this.#make(a.versionId)
      else {
        this.#retiredAt.set(a.id, Date.now())
        await db.transaction().execute((trx) => retireSpare(trx, a.id))
      }
    }
    if (actions.length > 0) this.#o.kickTasks()
    return pools.some((p) => p.building > 0 || p.ready.length < p.wanted)
  }

  /** Each warm version (a datastore's default, while installed and wanted) and any version that still has spares. */
  async #pools(): Promise<SparePool[]> {
    const wanted = new Map<string, number>()
    const used = await usedDatastores(this.#o.db)
    for (const ds of await listDatastores(this.#o.db)) {
      const v = ds.versions.find((x) => x.id === ds.default_version_id && x.active === 1)
      const n = wantedSpares(this.#o.policy, ds.name, used.has(ds.name))
      if (v && n > 0) wanted.set(v.id, n)
    }
    const spares = (await listSpares(this.#o.db)).filter((r) => !isDeleting({ taskStatus: r.task_status }))
    const versions = new Set([...wanted.keys(), ...spares.map((r) => r.datastore_version_id)])
    return [...versions].map((versionId) => {
      const mine = spares.filter((r) => r.datastore_version_id === versionId)
      const broken = mine.filter((r) => r.task_status === 'NONE' && isSpoilt(r) && !this.#retiredAt.has(r.id)).map((r) => r.id)
      if (mine.some((r) => r.fault_message !== null)) this.#lastFailure.set(versionId, Date.now())
      const lastFailureAt = this.#lastFailure.get(versionId)
      return {
        versionId,
        wanted: wanted.get(versionId) ?? 0,
        ready: mine.filter(isClaimable).map((r) => r.id),
        building: mine.filter((r) => isBuilding({ taskStatus: r.task_status })).length,
        broken,
        ...(lastFailureAt === undefined ? {} : { lastFailureAt }),
      }
    })
  }

  async #make(versionId: string): Promise<void> {
    const { db } = this.#o
    const flavor = await spareFlavor(db, versionId)
    if (!flavor) return
    const row = { ...newInstanceRow({ id: randomUUID(), project_id: SPARE_PROJECT, name: 'spare', flavor_id: flavor, volume_size: SPARE_VOLUME_GB, datastore_version_id: versionId, configuration_id: null }), built_by: this.#o.build }
    const input: CreateInstanceInput = { instanceId: row.id, databases: [], users: [] }
    await db.transaction().execute(async (trx) => {
      await insertInstance(trx, row)
      await enqueue(trx, { instanceId: row.id, kind: 'create-instance', input })
    })
  }
}
