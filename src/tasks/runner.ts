/**
 * The durable task runner. Tasks live in the state store; a runner claims one with a lease it keeps
 * renewing, runs its workflow, and records every completed step. When the process dies, the lease
 * runs out (or, in the embedded mode, is released at the next start) and the task is claimed again:
 * recorded steps are skipped, so it resumes rather than repeats.
 *
 * A running task whose workflow says it should stop (its instance is being deleted, by this process
 * or any other: the runner asks the state store, not a caller) is aborted at once, not at its next
 * step: its step's signal fires, the step stops what it started, and the task ends as cancelled
 * without retries, so the delete queued behind it runs next.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError, errorMessage } from '../core/errors.js'
import * as tasks from '../store/repos/tasks.js'
import type { Db, TaskRow } from '../store/schema.js'
import { taskEnded } from './queue.js'
import { TaskCancelled, type Workflow, type WorkflowContext } from './workflow.js'

export interface RunnerOptions {
  readonly db: Db
  /** Lease owner: the node name plus a per-process suffix. */
  readonly owner: string
  readonly workflows: readonly Workflow[]
  readonly concurrency: number
  readonly leaseMs?: number
  /** One line per task start, end and failure (with its instance), and per failed try of a step. */
  readonly log?: (msg: string, fields?: Readonly<Record<string, unknown>>) => void
}

const RETRY_DELAYS_MS = [200, 1000, 3000]
const IDLE_POLL_MS = 2000
/**
 * Test fault point: `COFFER_CRASH_AFTER_STEP=<kind>:<step>` kills this process with SIGKILL right
 * after that step is recorded, so tests can show that a crash between any two steps resumes cleanly.
 * A trailing `*` matches steps named at run time (`create-instance:move-port:*`).
 */
const CRASH_AFTER = process.env.COFFER_CRASH_AFTER_STEP
const crashesAfter = (step: string): boolean =>
  CRASH_AFTER !== undefined && (CRASH_AFTER.endsWith('*') ? step.startsWith(CRASH_AFTER.slice(0, -1)) : step === CRASH_AFTER)
/**
 * Test fault point: `COFFER_STALL_STEP=<kind>:<step>` makes that step, once its work is done, wait
 * for its signal instead of returning: a long-running step that only a cancel can end.
 */
const STALL = process.env.COFFER_STALL_STEP
/** `COFFER_TRACE_STEPS=1` logs how long each step took (for finding where a create spends its time). */
const TRACE_STEPS = process.env.COFFER_TRACE_STEPS === '1'

export class TaskRunner {
  readonly #o: Required<Omit<RunnerOptions, 'log'>> & Pick<RunnerOptions, 'log'>
  readonly #byKind: Map<string, Workflow>
  readonly #running = new Map<string, Running>()
  #stopped = false
  #wake: (() => void) | undefined
  #loop: Promise<void> | undefined

  constructor(o: RunnerOptions) {
    this.#o = { leaseMs: 15_000, ...o }
    this.#byKind = new Map(o.workflows.map((w) => [w.kind, w]))
  }

  start(): void {
    this.#loop = this.#run()
  }

  /** Look for work now rather than at the next poll. */
  kick(): void {
    this.#wake?.()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.kick()
    await this.#loop
    await this.idle()
  }

  /** Resolves when no task is open (for tests and `--wait`-style tools). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((r) => r.done))
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await this.#abortStopped()
      while (this.#running.size < this.#o.concurrency) {
        const task = await tasks.claimTask(this.#o.db, this.#o.owner, this.#o.leaseMs, new Set(this.#running.keys()))
        if (!task) break
        const abort = new AbortController()
        const done = this.#execute(task, abort).finally(() => {
          this.#running.delete(task.id)
          taskEnded(task.id)
          this.kick()
        })
        this.#running.set(task.id, { abort, shouldStop: this.#shouldStop(task), done })
      }
      await new Promise<void>((resolve) => {
        // Running tasks are checked for cancellation twice a second; an idle runner only looks for
        // tasks another process queued (this one's are kicked) or whose lease ran out.
        const timer = setTimeout(resolve, this.#running.size > 0 ? 500 : IDLE_POLL_MS)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** Aborts each running task whose workflow now says it should stop. */
  async #abortStopped(): Promise<void> {
    const running = [...this.#running.values()].filter((r) => r.shouldStop && !r.abort.signal.aborted)
    await Promise.all(
      running.map(async (r) => {
        if (await r.shouldStop?.().catch(() => false)) r.abort.abort(new TaskCancelled())
      }),
    )
  }

  #shouldStop(task: TaskRow): (() => Promise<boolean>) | undefined {
    const wf = this.#byKind.get(task.kind)
    if (!wf?.shouldStop) return undefined
    const input = JSON.parse(task.input)
    return () => wf.shouldStop!(input)
  }

  async #execute(task: TaskRow, abort: AbortController): Promise<void> {
    const { db, owner, leaseMs } = this.#o
    const wf = this.#byKind.get(task.kind)
    if (!wf) {
      await tasks.finishTask(db, task.id, 'failed', `no workflow named ${task.kind}`)
      return
    }
    const input = JSON.parse(task.input)
    const { signal } = abort
    const about = { event: 'task', task: task.id, kind: task.kind, instance: task.instance_id }
    const began = performance.now()
    this.#o.log?.(`task ${task.kind} ${task.id} started (instance ${task.instance_id})`, { ...about, state: 'started' })
    const renew = setInterval(() => void tasks.renewLease(db, task.id, owner, leaseMs).catch(() => {}), leaseMs / 3)
    const ctx: WorkflowContext = {
      taskId: task.id,
      signal,
      cancelled: async () => signal.aborted || ((await wf.shouldStop?.(input)) ?? false),
      step: async (name, fn) => {
        const done = await tasks.stepResult(db, task.id, name)
        if (done) return done.result === null ? undefined : JSON.parse(done.result)
        if (await ctx.cancelled()) throw new TaskCancelled()
        const started = performance.now()
        const result = await withRetries(fn, signal, (err, n) => this.#o.log?.(`task ${task.kind} ${task.id} step ${name} failed (try ${n}): ${errorMessage(err)}`))
        if (STALL === `${task.kind}:${name}`) await untilAborted(signal)
        await tasks.recordStep(db, task.id, name, result)
        if (TRACE_STEPS) this.#o.log?.(`task ${task.kind} ${task.id} step ${name}: ${Math.round(performance.now() - started)} ms`)
        if (crashesAfter(`${task.kind}:${name}`)) process.kill(process.pid, 'SIGKILL')
        return result
      },
    }
    try {
      await wf.run(ctx, input)
      await tasks.finishTask(db, task.id, 'done', null, wf.scrub?.(input))
      const ms = Math.round(performance.now() - began)
      this.#o.log?.(`task ${task.kind} ${task.id} done (instance ${task.instance_id}, ${ms} ms)`, { ...about, state: 'done', ms })
    } catch (err) {
      // Whatever a step threw once its signal fired (an aborted query, a killed child) is the cancel.
      if (err instanceof TaskCancelled || signal.aborted) {
        if (signal.aborted) this.#o.log?.(`task ${task.kind} ${task.id} cancelled (instance ${task.instance_id})`, { ...about, state: 'cancelled' })
        await wf.onCancel?.(input).catch((e) => this.#o.log?.(`task ${task.id} onCancel: ${errorMessage(e)}`))
        await tasks.finishTask(db, task.id, 'cancelled', null, wf.scrub?.(input))
        return
      }
      const failure = err instanceof CofferError ? err : new CofferError('INTERNAL', errorMessage(err), { cause: err })
      this.#o.log?.(`task ${task.kind} ${task.id} failed (instance ${task.instance_id}): ${failure.message}`, { ...about, state: 'failed', code: failure.code })
      await wf.onFailure?.(input, failure, { id: task.id }).catch((e) => this.#o.log?.(`task ${task.id} onFailure: ${errorMessage(e)}`))
      await tasks.finishTask(db, task.id, 'failed', failure.message, wf.scrub?.(input))
    } finally {
      clearInterval(renew)
    }
  }
}

interface Running {
  readonly abort: AbortController
  /** The workflow's `shouldStop` bound to the task's input; absent when it cannot be cancelled. */
  readonly shouldStop: (() => Promise<boolean>) | undefined
  readonly done: Promise<void>
}

/** Tries `fn` again after retryable failures, but never once `signal` fired: a cancel ends it at once. */
export async function withRetries<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, onError: (err: unknown, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new TaskCancelled()
    try {
      return await fn(signal)
    } catch (err) {
      if (signal.aborted || err instanceof TaskCancelled) throw new TaskCancelled()
      onError(err, attempt)
      // An untyped error (a driver's socket error, a busy file) is of unknown kind: the few bounded
      // retries are cheap, and every step is idempotent. Guest code types what it knows is lasting.
      const retryable = !(err instanceof CofferError) || err.retryable
      const delay = RETRY_DELAYS_MS[attempt - 1]
      if (!retryable || delay === undefined) throw err
      await sleep(delay, undefined, { signal }).catch(() => undefined)
    }
  }
}

/** Resolves never; rejects with TaskCancelled once `signal` fires. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new TaskCancelled())
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
}
