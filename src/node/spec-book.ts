/**
 * The node's own record of what should exist: each instance's DesiredInstance as `spec.json` in
 * its guest folder (0600, Coffer's only), kept in memory too. After a restart the node reads these
 * files to re-adopt its engines; it never asks the state store, which it cannot reach.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { ComputeDriver } from '../compute/compute-driver.js'
import { writeFileAtomic } from '../guest/datastores/common/files.js'
import type { DesiredInstance } from '../guest/protocol.js'

const FILE = 'spec.json'

export class SpecBook {
  readonly #compute: ComputeDriver
  readonly #entries = new Map<string, DesiredInstance>()

  constructor(compute: ComputeDriver) {
    this.#compute = compute
  }

  /** Reads every instance's spec file; folders without one (never specified, or half made) are skipped. */
  async load(): Promise<readonly DesiredInstance[]> {
    const ids = await this.#compute.listEnvelopes()
    await Promise.all(
      ids.map(async (id) => {
        const text = await readFile(this.#file(id), 'utf8').catch(() => undefined)
        if (text === undefined) return
        try {
          const d = JSON.parse(text) as DesiredInstance
          if (d.spec?.instanceId === id) this.#entries.set(id, d)
        } catch {
          // A torn file cannot happen (atomic writes); anything else unreadable is left alone.
        }
      }),
    )
    return [...this.#entries.values()]
  }

  get(id: string): DesiredInstance | undefined {
    return this.#entries.get(id)
  }

  ids(): readonly string[] {
    return [...this.#entries.keys()]
  }

  /** The instances whose engines the node keeps running and reports on. */
  running(): readonly DesiredInstance[] {
    return [...this.#entries.values()].filter((d) => d.running)
  }

  /**
   * Records `desired` in its guest folder. Returns false, recording nothing, when the instance has
   * no envelope here (not made yet, or destroyed): there is nothing to keep then.
   */
  async put(desired: DesiredInstance): Promise<boolean> {
    const id = desired.spec.instanceId
    try {
      await writeFileAtomic(this.#file(id), JSON.stringify(desired), { mode: 0o600 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.#entries.delete(id)
      return false
    }
    this.#entries.set(id, desired)
    return true
  }

  async drop(id: string): Promise<void> {
    this.#entries.delete(id)
    await rm(this.#file(id), { force: true }).catch(() => undefined)
  }

  #file(id: string): string {
    return join(this.#compute.paths(id).guestDir, FILE)
  }
}
