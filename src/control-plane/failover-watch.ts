/**
 * Automatic failover (opt-in per set, `auto_failover`): watches the sources that asked for it and,
 * when one has not been healthy for `afterMs` (its node tries to restart its engine meanwhile),
 * ejects it as `eject_replica_source` would: the old source is fenced first (its engine stopped if
 * it cannot be fenced), then the most advanced replica is promoted and the others follow it. A
 * source a user stopped, or one busy with a task, is left alone. It looks every `everyMs`, and at
 * once when a heartbeat says a watched source is down (`kick`).
 *
 * An asynchronous set fails over only when a replica lagged at most `maxLagBytes` by the last
 * heartbeats (failover-choice.ts); otherwise the source gets a fault and every member an event
 * saying why, and a person decides (eject by hand, accepting the loss, or bring the source back).
 */
import { ejectReplicaSource, type SetContext } from '../api/replica-actions.js'
import { errorMessage } from '../core/errors.js'
import type { ReplicationReport } from '../guest/protocol.js'
import { recordEvents } from '../store/repos/events.js'
import { transition } from '../store/repos/transition.js'
import type { Db, InstanceRow } from '../store/schema.js'
import { chooseFailover } from './failover-choice.js'

export interface FailoverWatchOptions extends SetContext {
  readonly db: Db
  readonly afterMs: number
  readonly maxLagBytes: number
  readonly log: (msg: string) => void
}

/** The fault a refused failover leaves on the source; it goes when the source is healthy again. */
const REFUSED = 'Automatic failover was refused:'

const reportOf = (row: InstanceRow | undefined): ReplicationReport | undefined => (row?.replication ? (JSON.parse(row.replication) as ReplicationReport) : undefined)
const healthy = (s: InstanceRow): boolean => s.service_status === 'HEALTHY' || s.service_status === 'ACTIVE'

export class FailoverWatch {
  readonly #o: FailoverWatchOptions
  /** When each watched source was first seen unhealthy (in this process). */
  readonly #unhealthySince = new Map<string, number>()
  /**
   * Each replica's last report taken while it was connected to a healthy source: once the source
   * is dead a replica reports only that it is cut off (Redis and MariaDB then know no lag).
   */
  readonly #lastConnected = new Map<string, ReplicationReport>()
  /**
   * Each healthy watched source's last full report: an engine killed between its heartbeat's
   * health check and its replication query reports only its role, which must not hide that its
   * commits waited for a replica.
   */
  readonly #lastAnswered = new Map<string, ReplicationReport>()
  #timer: NodeJS.Timeout | undefined
  #ticking = false
  #again = false

  constructor(o: FailoverWatchOptions) {
    this.#o = o
  }

  start(everyMs: number): void {
    this.#timer = setInterval(() => this.kick(), everyMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  /** Looks now (a heartbeat said an engine is down); a look under way is followed by another. */
  kick(): void {
    if (this.#ticking) {
      this.#again = true
      return
    }
    void this.tick()
      .catch((err) => this.#o.log(`failover watch: ${errorMessage(err)}`))
      .finally(() => {
        if (!this.#again) return
        this.#again = false
        this.kick()
      })
  }

  async tick(now = Date.now()): Promise<void> {
    if (this.#ticking) return
    this.#ticking = true
    try {
      const { db } = this.#o
      const sources = await db.selectFrom('instances').selectAll().where('auto_failover', '=', 1).where('replica_of', 'is', null).execute()
      const watched = new Set(sources.map((s) => s.id))
      for (const id of this.#unhealthySince.keys()) if (!watched.has(id)) this.#unhealthySince.delete(id)
      await this.#noteConnected(sources)
      for (const s of sources) {
        if (healthy(s) && s.fault_message?.startsWith(REFUSED) && s.task_status === 'NONE') await transition(db, s.id, 'NONE', null, { clearFault: 'mended' })
        if (healthy(s) || s.task_status !== 'NONE' || Number(s.stopped) === 1 || s.fault_message) {
          this.#unhealthySince.delete(s.id)
          continue
        }
        const since = this.#unhealthySince.get(s.id) ?? now
        this.#unhealthySince.set(s.id, since)
        if (now - since < this.#o.afterMs) continue
        await this.#failOver(s, since, now)
      }
    } finally {
      this.#ticking = false
    }
  }

  /** Notes what each healthy watched source, and each replica of one while connected, last said. */
  async #noteConnected(sources: readonly InstanceRow[]): Promise<void> {
    const up = new Set(sources.filter((s) => healthy(s)).map((s) => s.id))
    for (const id of this.#lastAnswered.keys()) if (!sources.some((s) => s.id === id)) this.#lastAnswered.delete(id)
    for (const s of sources) {
      const report = reportOf(s)
      if (up.has(s.id) && report?.position !== undefined) this.#lastAnswered.set(s.id, report)
    }
    const replicas = sources.length === 0 ? [] : await this.#o.db.selectFrom('instances').select(['id', 'replica_of', 'replication']).where('replica_of', 'in', sources.map((s) => s.id)).execute()
    const present = new Set(replicas.map((r) => r.id))
    for (const id of this.#lastConnected.keys()) if (!present.has(id)) this.#lastConnected.delete(id)
    for (const r of replicas) {
      const report = r.replication ? (JSON.parse(r.replication) as ReplicationReport) : undefined
      if (up.has(r.replica_of ?? '') && report?.role === 'replica' && report.connected) this.#lastConnected.set(r.id, report)
    }
  }

  async #failOver(s: InstanceRow, since: number, now: number): Promise<void> {
    const { db } = this.#o
    const replicas = await db.selectFrom('instances').selectAll().where('replica_of', '=', s.id).orderBy('created_at').execute()
    const ready = replicas.filter((r) => r.task_status === 'NONE')
    if (ready.length === 0) return
    const choice = chooseFailover({ sync: Number(s.sync_replication) === 1, source: this.#lastAnswered.get(s.id) ?? reportOf(s), replicas: ready.map((r) => ({ id: r.id, report: this.#lastConnected.get(r.id) ?? reportOf(r) })), maxLagBytes: this.#o.maxLagBytes })
    const down = `source ${s.id} has not been healthy for ${((now - since) / 1000).toFixed(1)} s (${s.service_status})`
    if (!choice.ok) {
      const message = `${REFUSED} ${choice.reason}. To fail over anyway, accepting the loss, ask eject_replica_source on a replica (coffer eject-replica-source); or bring the source back (restart).`
      const fault = { message, details: null, operation: 'restart-instance' as const, taskId: null }
      if (await transition(db, s.id, 'NONE', null, { fault })) await recordEvents(db, [s.id, ...replicas.map((r) => r.id)], 'failover-refused', () => `${message} (${down})`)
      this.#unhealthySince.delete(s.id)
      this.#o.log(`automatic failover: ${down}; refused: ${choice.reason}`)
      return
    }
    try {
      await ejectReplicaSource(this.#o, ready[0]!, { unhealthySince: since, mayLose: choice.mayLose })
      this.#unhealthySince.delete(s.id)
      this.#o.log(`automatic failover: ${down}; its most advanced replica replaces it`)
    } catch (err) {
      this.#o.log(`automatic failover of ${s.id} could not start: ${errorMessage(err)}`)
    }
  }
}
