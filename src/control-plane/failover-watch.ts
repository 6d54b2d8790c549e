/**
 * Automatic failover (opt-in per set, `auto_failover`): watches the sources that asked for it and,
 * when one has not been healthy for `afterMs` (its node tries to restart its engine meanwhile),
 * ejects it as `eject_replica_source` would: the old source is fenced first (its engine stopped if
 * it cannot be fenced), then the most advanced replica is promoted and the others follow it. A
 * source a user stopped, or one busy with a task, is left alone.
 */
import { ejectReplicaSource, type SetContext } from '../api/replica-actions.js'
import { errorMessage } from '../core/errors.js'
import type { Db } from '../store/schema.js'

export interface FailoverWatchOptions extends SetContext {
  readonly db: Db
  readonly afterMs: number
  readonly log: (msg: string) => void
}

export class FailoverWatch {
  readonly #o: FailoverWatchOptions
  /** When each watched source was first seen unhealthy (in this process). */
  readonly #unhealthySince = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #ticking = false

  constructor(o: FailoverWatchOptions) {
    this.#o = o
  }

  start(everyMs: number): void {
    this.#timer = setInterval(() => void this.tick().catch((err) => this.#o.log(`failover watch: ${errorMessage(err)}`)), everyMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  async tick(now = Date.now()): Promise<void> {
    if (this.#ticking) return
    this.#ticking = true
    try {
      const { db } = this.#o
      const sources = await db.selectFrom('instances').selectAll().where('auto_failover', '=', 1).where('replica_of', 'is', null).execute()
      const watched = new Set(sources.map((s) => s.id))
      for (const id of this.#unhealthySince.keys()) if (!watched.has(id)) this.#unhealthySince.delete(id)
      for (const s of sources) {
        const healthy = s.service_status === 'HEALTHY' || s.service_status === 'ACTIVE'
        if (healthy || s.task_status !== 'NONE' || Number(s.stopped) === 1 || s.fault_message) {
          this.#unhealthySince.delete(s.id)
          continue
        }
        const since = this.#unhealthySince.get(s.id) ?? now
        this.#unhealthySince.set(s.id, since)
        if (now - since < this.#o.afterMs) continue
        const replica = await db.selectFrom('instances').selectAll().where('replica_of', '=', s.id).where('task_status', '=', 'NONE').orderBy('created_at').executeTakeFirst()
        if (!replica) continue
        try {
          await ejectReplicaSource(this.#o, replica)
          this.#unhealthySince.delete(s.id)
          this.#o.log(`automatic failover: source ${s.id} has not been healthy for ${Math.round((now - since) / 1000)} s (${s.service_status}); its most advanced replica replaces it`)
        } catch (err) {
          this.#o.log(`automatic failover of ${s.id} could not start: ${errorMessage(err)}`)
        }
      }
    } finally {
      this.#ticking = false
    }
  }
}
