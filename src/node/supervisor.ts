/**
 * The node's heartbeat and supervisor: every interval it looks at each engine that should be
 * running, publishes what it saw, and starts again an engine it finds stopped. The node agent
 * gives it what it needs to look and to start; it keeps only what it saw.
 */
import { access } from 'node:fs/promises'
import type { ComputeDriver } from '../compute/compute-driver.js'
import { errorMessage } from '../core/errors.js'
import { GUEST_PROTOCOL_VERSION, type Heartbeat, type InstanceSpec, type ReplicationReport } from '../guest/protocol.js'

/** Full looks at a healthy engine: often enough to see one that hangs within half a minute. */
export const DEFAULT_FULL_LOOK_MS = 30_000

/**
 * Whether an engine found stopped in `stoppedLooks` looks in a row, after `restartsInARow`
 * restarts that did not keep it up, is due another start: 2 looks, then 4, 8... up to 64.
 */
export const restartDue = (stoppedLooks: number, restartsInARow: number): boolean => stoppedLooks >= 2 ** Math.min(restartsInARow + 1, 6)

export const fullLookDue = (lastFull: number, now: number, fullLookMs: number): boolean => now - lastFull >= fullLookMs

/**
 * How often the process of an engine an automatic failover waits on (the source of a set with
 * `auto_failover`) is looked for in /proc: its death is seen, published and met with a restart
 * within this, not at the next heartbeat.
 */
export const CLOSE_WATCH_MS = 250

const processLives = (pid: number): Promise<boolean> => access(`/proc/${pid}`).then(() => true, () => false)

export interface SupervisorOptions {
  /** The specs of the engines that should be running now. */
  readonly running: () => readonly InstanceSpec[]
  /** False once a task took the instance over (a restart, a delete): its engine is not ours to start. */
  readonly stillMeantToRun: (instanceId: string) => boolean
  /** A full look at the engine: a login to it; `stopped` when the instance has no envelope here. */
  readonly fullStatus: (spec: InstanceSpec) => Promise<{ readonly healthy: boolean; readonly state: string; readonly pid?: number }>
  readonly startEngine: (spec: InstanceSpec) => Promise<void>
  /** Epoch ms of the last change shipped to the instance's archive, if it has one. */
  readonly archivedThrough?: (instanceId: string) => number | undefined
  /** A replica set member's replication state now; undefined for an instance in no set. */
  readonly replication?: (spec: InstanceSpec) => Promise<ReplicationReport | undefined>
  readonly compute: Pick<ComputeDriver, 'volumeUsedBytes' | 'volumeSpace'>
  readonly log: (msg: string) => void
  readonly fullLookMs?: number
}

export class Supervisor {
  readonly #o: SupervisorOptions
  readonly #fullLookMs: number
  #timer: NodeJS.Timeout | undefined
  #closeTimer: NodeJS.Timeout | undefined
  #stopped = false
  /** Each engine's process and when a full look last found it healthy (#healthOf). */
  readonly #lastHealthy = new Map<string, { readonly pid: number; readonly at: number }>()
  readonly #stoppedSeen = new Map<string, number>()
  readonly #restartsInARow = new Map<string, number>()
  readonly #looking = new Set<string>()

  constructor(o: SupervisorOptions) {
    this.#o = o
    this.#fullLookMs = o.fullLookMs ?? DEFAULT_FULL_LOOK_MS
  }

  /**
   * Every `intervalMs`, looks at each engine that should be running and publishes what it saw. An
   * engine found stopped twice in a row (it died: out of memory, a crash, a kill) is started again;
   * twice, because a single look can fall inside a restart. An engine that will not start, or dies
   * again before the next look, is tried after 2, 4, 8... looks, at most every 64 (~10 minutes at
   * the default 10 s), until a look finds it running.
   *
   * Each instance is looked at on its own: one whose last look has not finished (an engine that
   * hangs, a restart under way) is skipped this round, and never holds back the others' heartbeats.
   */
  start(intervalMs: number, publish: (hb: Heartbeat) => void): void {
    const loop = (): void => {
      if (this.#stopped) return
      this.#timer = setTimeout(() => {
        this.#beat(publish)
        loop()
      }, intervalMs)
      this.#timer.unref()
    }
    loop()
    this.#closeTimer = setInterval(() => this.#watchClosely(publish), CLOSE_WATCH_MS)
    this.#closeTimer.unref()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    clearInterval(this.#closeTimer)
  }

  /**
   * Between heartbeats, the engines a failover waits on are only checked for their process (a
   * /proc lookup, no login). One found dead is looked at now, its heartbeat published at once, and
   * started again at once (its one restart before the failover watch gives up on it); the outcome
   * is published as soon as it is known. Later restarts follow the usual heartbeat backoff.
   */
  #watchClosely(publish: (hb: Heartbeat) => void): void {
    for (const spec of this.#o.running()) {
      const id = spec.instanceId
      const last = this.#lastHealthy.get(id)
      if (!spec.failoverWatched || !last || this.#looking.has(id)) continue
      this.#looking.add(id)
      void processLives(last.pid)
        .then(async (lives) => {
          if (lives || this.#lastHealthy.get(id) !== last) return
          this.#o.log(`instance ${id}: engine process ${last.pid} is gone`)
          await this.#look(spec, publish, true)
        })
        .catch((err) => this.#o.log(`instance ${id}: heartbeat: ${errorMessage(err)}`))
        .finally(() => this.#looking.delete(id))
    }
  }

  #beat(publish: (hb: Heartbeat) => void): void {
    for (const spec of this.#o.running()) {
      const id = spec.instanceId
      if (this.#looking.has(id)) continue
      this.#looking.add(id)
      void this.#look(spec, publish)
        .catch((err) => this.#o.log(`instance ${id}: heartbeat: ${errorMessage(err)}`))
        .finally(() => this.#looking.delete(id))
    }
  }

  /** `restartNow`: the engine was just seen dying; a start is tried at once, not after two looks. */
  async #look(spec: InstanceSpec, publish: (hb: Heartbeat) => void, restartNow = false): Promise<void> {
    const id = spec.instanceId
    const observedAt = Date.now()
    const s = await this.#healthOf(spec, observedAt)
    const volumeUsedBytes = await this.#o.compute.volumeUsedBytes(id)
    const space = await this.#o.compute.volumeSpace(id).catch(() => undefined)
    const serviceStatus = s.healthy ? 'HEALTHY' : s.state === 'stopped' ? 'SHUTDOWN' : 'FAILED'
    const archivedThrough = this.#o.archivedThrough?.(id)
    // An engine that does not answer says nothing of its set: the last state it did say stays shown
    // (the failover watch weighs what replicas lagged by then).
    const replication = s.healthy ? await this.#o.replication?.(spec).catch(() => undefined) : undefined
    publish({
      protocol: GUEST_PROTOCOL_VERSION,
      instanceId: id,
      observedAt,
      serviceStatus,
      volumeUsedBytes,
      ...(space ? { volumeType: space.type } : {}),
      ...(space?.freeBytes === undefined ? {} : { volumeFreeBytes: space.freeBytes }),
      ...(archivedThrough === undefined ? {} : { archivedThrough }),
      ...(replication ? { replication } : {}),
    })
    const seen = s.state === 'stopped' ? (this.#stoppedSeen.get(id) ?? 0) + 1 : 0
    this.#stoppedSeen.set(id, seen)
    if (s.state !== 'stopped') this.#restartsInARow.delete(id)
    const restarts = this.#restartsInARow.get(id) ?? 0
    const now = restartNow && s.state === 'stopped'
    if (!now && !restartDue(seen, restarts)) return
    if (!this.#o.stillMeantToRun(id)) return
    this.#stoppedSeen.set(id, 0)
    this.#restartsInARow.set(id, restarts + 1)
    this.#o.log(`instance ${id}: engine found ${s.state}, starting it again${restarts > 0 ? ` (restart ${restarts + 1} in a row)` : ''}`)
    await this.#o.startEngine(spec).catch((err) => this.#o.log(`instance ${id}: could not start its engine: ${errorMessage(err)}`))
    if (now) await this.#look(spec, publish)
  }

  /**
   * A full look logs in to the engine (a new connection each time: most of an idle node's CPU).
   * Between full looks, an engine that was healthy is taken to be so while its process lives; a
   * dead process, or a full look due, means a full look now.
   */
  async #healthOf(spec: InstanceSpec, at: number): Promise<{ healthy: boolean; state: string }> {
    const id = spec.instanceId
    const last = this.#lastHealthy.get(id)
    if (last && !fullLookDue(last.at, at, this.#fullLookMs) && (await processLives(last.pid))) return { healthy: true, state: 'running' }
    this.#lastHealthy.delete(id)
    const s = await this.#o.fullStatus(spec).catch(() => ({ healthy: false, state: 'failed', pid: undefined }))
    if (s.healthy && s.pid !== undefined) this.#lastHealthy.set(id, { pid: s.pid, at })
    return s
  }
}
