/**
 * How far each running backup or restore has got, from the nodes' progress messages, kept in memory
 * for the API to show (bytes, MB/s). A transfer not heard of for a minute is forgotten.
 */
import type { TransferProgress } from '../guest/protocol.js'

export interface ProgressView {
  readonly bytes: number
  /** MB/s since the first message of this transfer. */
  readonly mb_per_s: number
  readonly updated: string
}

const FORGET_MS = 60_000

export class ProgressBoard {
  readonly #seen = new Map<string, { first: TransferProgress; last: TransferProgress }>()

  take(p: TransferProgress): void {
    const key = `${p.kind}:${p.id}`
    const was = this.#seen.get(key)
    if (was && was.last.observedAt >= p.observedAt) return
    this.#seen.set(key, { first: was?.first ?? { ...p, bytes: 0, observedAt: p.observedAt - 500 }, last: p })
    for (const [k, v] of this.#seen) if (p.observedAt - v.last.observedAt > FORGET_MS) this.#seen.delete(k)
  }

  of(kind: TransferProgress['kind'], id: string): ProgressView | undefined {
    const v = this.#seen.get(`${kind}:${id}`)
    if (!v || Date.now() - v.last.observedAt > FORGET_MS) return undefined
    const seconds = Math.max(0.001, (v.last.observedAt - v.first.observedAt) / 1000)
    return { bytes: v.last.bytes, mb_per_s: Math.round(((v.last.bytes - v.first.bytes) / 2 ** 20 / seconds) * 10) / 10, updated: new Date(v.last.observedAt).toISOString() }
  }
}
