/**
 * Ships instances' archives (WAL, binary logs) to the object store on a timer, one instance at a
 * time each, and remembers how far each got, for the heartbeat to tell the control plane. A ship
 * that fails is logged and tried again at the next round: the engine keeps its files until shipped.
 */
import { errorMessage } from '../core/errors.js'
import type { DesiredInstance } from '../guest/protocol.js'

export interface ArchiveShipperOptions {
  /** The instances to ship now: running, with an archive. */
  readonly archived: () => readonly DesiredInstance[]
  /** Ships one instance's archive; resolves with the time of the last change now in it. */
  readonly ship: (d: DesiredInstance) => Promise<Date | undefined>
  readonly log: (msg: string) => void
}

export class ArchiveShipper {
  readonly #o: ArchiveShipperOptions
  readonly #through = new Map<string, number>()
  readonly #shipping = new Set<string>()
  /** Instances whose last ship failed, so a failure is logged once, not every round. */
  readonly #failing = new Set<string>()
  #timer: NodeJS.Timeout | undefined

  constructor(o: ArchiveShipperOptions) {
    this.#o = o
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.#round(), intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  archivedThrough(instanceId: string): number | undefined {
    return this.#through.get(instanceId)
  }

  #round(): void {
    for (const d of this.#o.archived()) {
      const id = d.spec.instanceId
      if (this.#shipping.has(id)) continue
      this.#shipping.add(id)
      void this.#o
        .ship(d)
        .then((at) => {
          if (at) this.#through.set(id, Math.max(at.getTime(), this.#through.get(id) ?? 0))
          if (this.#failing.delete(id)) this.#o.log(`instance ${id}: archive shipping works again`)
        })
        .catch((err) => {
          if (!this.#failing.has(id)) this.#o.log(`instance ${id}: could not ship its archive (tried again every round): ${errorMessage(err)}`)
          this.#failing.add(id)
        })
        .finally(() => this.#shipping.delete(id))
    }
  }
}
