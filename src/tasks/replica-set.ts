/**
 * The replica set operations, as Trove has them: promote a replica (a planned switchover: the
 * source stops taking writes, the replica catches up fully and is promoted, the old source and the
 * other replicas follow it), eject a dead source (the most advanced replica is promoted, the rest
 * follow it, the old source stays fenced out of the set), and detach a replica (it becomes a
 * standalone writable instance). Every member is held (PROMOTING, EJECTING, DETACHING) from the
 * request until the task ends, so no two set operations interleave.
 */
import type { CofferError } from '../core/errors.js'
import type { ReplicaSteps } from './steps/replica-steps.js'
import type { WriterSteps } from './steps/writer-steps.js'
import { workflow, type WorkflowContext } from './workflow.js'

/**
 * Points the set's writer address at the new source as soon as it is promoted (the old one is
 * fenced by then), so clients write again at once. A failure there does not undo the promotion: the
 * writer still reaches the fenced old source, which takes no writes, and `writer-check`, once the
 * set is recorded, tries again and fails the operation if it cannot.
 */
async function switchWriter(t: WorkflowContext, writers: WriterSteps, from: string, to: string, log: (msg: string) => void): Promise<void> {
  await t.step('writer', () => writers.switchTo(from, to).catch((err: Error) => log(`writer address of the set of ${to}: could not switch it yet (${err.message}); trying again once the set is recorded`)))
}

export interface ReplicaSetInput {
  /** The replica the action was asked on. */
  readonly replicaId: string
  /** The source when the action began. */
  readonly sourceId: string
  /** Every member held by the operation (the source and all its replicas; for a detach, the replica). */
  readonly members: readonly string[]
  /** Set by the failover watch for an automatic failover (an eject it asked for). */
  readonly automatic?: AutomaticFailover
}

export interface AutomaticFailover {
  /** Epoch ms when the source was first seen unhealthy. */
  readonly unhealthySince: number
  /** What may be lost, as the heartbeats last said: 'sync' for a synchronous set, else the most a qualifying replica lagged, in bytes. */
  readonly mayLose: 'sync' | number
}

export const promoteReplica = (steps: ReplicaSteps, writers: WriterSteps, log: (msg: string) => void) =>
  workflow<ReplicaSetInput>({
    kind: 'promote-replica',
    async run(t, { replicaId, sourceId, members }) {
      const others = members.filter((m) => m !== replicaId && m !== sourceId)
      const position = await t.step('fence-source', () => steps.fence(sourceId))
      await t.step('catch-up', (signal) => steps.waitCaughtUp(replicaId, position, signal))
      await t.step('promote', (signal) => steps.promote(replicaId, signal))
      await switchWriter(t, writers, sourceId, replicaId, log)
      await t.step('old-source-follows', (signal) => steps.follow(sourceId, replicaId, signal))
      for (const o of others) await t.step(`follow:${o}`, (signal) => steps.follow(o, replicaId, signal))
      await t.step('record', () => steps.recordSet(replicaId, [sourceId, ...others], sourceId))
      await t.step('writer-check', () => writers.switchTo(sourceId, replicaId))
      await t.step('sync', () => steps.applySync(replicaId))
      await t.step('events', () => steps.recordEvents(members, 'promote', `Planned promote: ${replicaId} replaced ${sourceId} as the source of the set (no committed write lost); ${sourceId} follows it.`))
      await t.step('release', () => steps.release(members, 'PROMOTING'))
    },
    onFailure: (input, err: CofferError, task) => steps.fail(input.members, 'PROMOTING', input.replicaId, err, task.id),
  })

export const ejectSource = (steps: ReplicaSteps, writers: WriterSteps, log: (msg: string) => void) =>
  workflow<ReplicaSetInput>({
    kind: 'eject-source',
    async run(t, { sourceId, members, automatic }) {
      const replicas = members.filter((m) => m !== sourceId)
      // The source is presumed dead: fencing it records that it must never take writes again, even
      // when it is found running later; a node that cannot be reached does not stop the eject.
      await t.step('fence-source', () => steps.fenceOrStop(sourceId, log))
      const chosen = await t.step('choose', () => steps.mostAdvanced(replicas))
      const others = replicas.filter((r) => r !== chosen)
      await t.step('promote', (signal) => steps.promote(chosen, signal))
      await switchWriter(t, writers, sourceId, chosen, log)
      for (const o of others) await t.step(`follow:${o}`, (signal) => steps.follow(o, chosen, signal))
      await t.step('record', async () => {
        await steps.recordSet(chosen, others, sourceId)
        await steps.markEjected(sourceId, chosen)
      })
      await t.step('writer-check', () => writers.switchTo(sourceId, chosen))
      await t.step('sync', () => steps.applySync(chosen))
      await t.step('events', () => steps.recordEvents(members, automatic ? 'failover' : 'eject', ejectMessage(sourceId, chosen, automatic)))
      await t.step('release', () => steps.release(replicas, 'EJECTING'))
    },
    onFailure: (input, err: CofferError, task) => steps.fail(input.members, 'EJECTING', input.replicaId, err, task.id),
  })

const ejectMessage = (sourceId: string, chosen: string, automatic: AutomaticFailover | undefined): string => {
  if (!automatic) return `eject_replica_source: ${chosen} replaced ${sourceId} as the source of the set; writes ${sourceId} took that ${chosen} had not received are lost. ${sourceId} is fenced out of the set.`
  const after = ((Date.now() - automatic.unhealthySince) / 1000).toFixed(1)
  const loss = automatic.mayLose === 'sync' ? 'the set is synchronous: no acknowledged write was lost' : `up to ${automatic.mayLose} bytes of writes may be lost (the replica's lag as last reported)`
  return `Automatic failover: ${chosen} replaced ${sourceId} as the source after ${after} s; ${loss}. ${sourceId} is fenced out of the set.`
}

export const detachReplica = (steps: ReplicaSteps) =>
  workflow<ReplicaSetInput>({
    kind: 'detach-replica',
    async run(t, { replicaId, sourceId }) {
      await t.step('promote', (signal) => steps.promote(replicaId, signal))
      await t.step('record', () => steps.recordSet(replicaId, []))
      // The source of a synchronous set no longer waits for the detached replica.
      await t.step('sync', () => steps.applySync(sourceId))
      await t.step('events', () => steps.recordEvents([replicaId, sourceId], 'detach', `${replicaId} was detached from the set of ${sourceId}: it is a standalone writable instance.`))
      await t.step('release', () => steps.release([replicaId], 'DETACHING'))
    },
    onFailure: (input, err: CofferError, task) => steps.fail(input.members, 'DETACHING', input.replicaId, err, task.id),
  })
