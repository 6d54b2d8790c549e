/**
 * The side-effect steps of instance workflows. Each is idempotent: run twice, it does its work once.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CofferError } from '../../core/errors.js'
import { faultOf } from '../../core/fault-message.js'
import { isDeleting, NOT_DELETING, OPERATION_TASK_STATUS, type Operation } from '../../core/instance.js'
import type { Bus } from '../../bus/bus.js'
import { isSealed, type Sealer } from '../../store/sealed.js'
import type { GuestDatabase } from '../../guest/protocol.js'
import * as instances from '../../store/repos/instances.js'
import { transition } from '../../store/repos/transition.js'
import type { Db } from '../../store/schema.js'
import { TaskCancelled } from '../workflow.js'
import type { SealedUser } from '../create-instance.js'
import { listNodes } from '../../store/repos/nodes.js'
import { chooseNode } from './choose-node.js'
import { instanceSpec, requireInstance } from './instance-spec.js'
import { givePlace, type Placement } from './give-place.js'

export interface StepDeps {
  readonly db: Db
  readonly bus: Bus
  /** Opens the initial users' sealed passwords just before they go to the guest. */
  readonly sealer: Sealer
  /** How long an engine may take to answer after prepare. */
  readonly healthyTimeoutMs: number
}

export type { Placement } from './give-place.js'

export function instanceSteps(d: StepDeps) {
  const { db, bus } = d
  const node = async (id: string) => {
    const row = await requireInstance(db, id)
    return { api: bus.node(row.node ?? ''), spec: await instanceSpec(db, row) }
  }
  const placed = async (id: string): Promise<Placement | null> => {
    const row = await requireInstance(db, id)
    if (!row.node || row.port === null) return null
    const address = row.address ?? (await listNodes(db)).find((n) => n.name === row.node)?.addresses[0] ?? ''
    return { node: row.node, address, port: Number(row.port) }
  }
  return {
    /** Picks a node and a free place there (address and port), and records them on the instance. Keeps an earlier choice. */
    async place(id: string): Promise<Placement> {
      const earlier = await placed(id)
      if (earlier) return earlier
      const { node: on, standardPort } = await chooseNode(db, await requireInstance(db, id))
      return givePlace(db, bus, id, on, standardPort)
    },

    /** The place recorded on the instance; null before it is placed. */
    placeOf: placed,

    /**
     * Moves the instance, whose engine could not listen at `from` (`address:port`: another process
     * took it after it was probed), to another free place of the same node: another address of its
     * pool on the same port, or another port. Its engine is not running: it renders the new place
     * into its configuration at its next start. An instance no longer at `from` was moved already
     * and stays where it is.
     */
    async movePlace(id: string, from: string): Promise<Placement> {
      const now = await placed(id)
      if (!now) throw new CofferError('INTERNAL', `instance ${id} was never placed`, { retryable: false })
      if (placeKey(now) !== from) return now
      const on = (await listNodes(db)).find((n) => n.name === now.node)
      if (!on) throw new CofferError('INTERNAL', `node ${now.node} of instance ${id} is not registered`)
      return givePlace(db, bus, id, on, now.port)
    },

    async createEnvelope(id: string): Promise<void> {
      const { api, spec } = await node(id)
      await api.createEnvelope(spec)
    },

    /** Grows a claimed spare's volume to the size the create asked for (its row has it already). */
    async growVolume(id: string, signal?: AbortSignal): Promise<void> {
      const { api, spec } = await node(id)
      await api.growVolume(spec, { signal })
    },

    async prepare(id: string, initial: { databases: GuestDatabase[]; users: SealedUser[] }, signal?: AbortSignal): Promise<void> {
      const { api, spec } = await node(id)
      const users = initial.users.map((u) => {
        if (u.password === '') throw new CofferError('INTERNAL', `the password of initial user ${u.name} was already wiped`, { retryable: false })
        // A task queued by a Coffer from before sealing holds the password as it was given.
        return { ...u, password: isSealed(u.password) ? d.sealer.open(u.password) : u.password }
      })
      await api.prepare(spec, { databases: initial.databases, users }, { signal })
    },

    async waitHealthy(id: string, signal: AbortSignal): Promise<void> {
      const { api, spec } = await node(id)
      const deadline = Date.now() + d.healthyTimeoutMs
      let last = ''
      while (Date.now() < deadline) {
        if (signal.aborted) throw new TaskCancelled()
        const s = await api.status(spec)
        if (s.healthy) return
        last = s.detail ?? s.state
        await sleep(50, undefined, { signal }).catch(() => undefined)
      }
      throw new CofferError('TIMEOUT', `the engine did not answer within ${d.healthyTimeoutMs / 1000} s (${last})`, { retryable: false })
    },

    async markActive(id: string): Promise<void> {
      // False when a delete began meanwhile: the delete owns the status now.
      await transition(db, id, 'BUILDING', 'NONE', { serviceStatus: 'HEALTHY', clearFault: 'mended' })
    },

    /**
     * Shows the failure of `operation` (task `taskId`) on the instance and ends the operation's task
     * status. A failed delete leaves the instance in ERROR so it can be deleted again. Paths and log
     * lines go to the details only.
     */
    async markFailed(id: string, err: CofferError, operation: Operation, taskId: string): Promise<void> {
      const fault = { ...faultOf(err), operation, taskId }
      const from = OPERATION_TASK_STATUS[operation]
      await transition(db, id, from ?? NOT_DELETING, from === null ? null : 'NONE', { fault, serviceStatus: 'ERROR' })
    },

    async isDeleting(id: string): Promise<boolean> {
      const row = await instances.findInstance(db, id)
      return !row || isDeleting({ taskStatus: row.task_status })
    },

    /** Stops the engine and removes the envelope, on whatever node it was placed. Nothing placed: nothing to do. */
    async destroy(id: string): Promise<void> {
      const row = await instances.findInstance(db, id)
      if (!row?.node || row.port === null) return
      const { api, spec } = await node(id)
      await api.destroy(spec)
    },

    async forget(id: string): Promise<void> {
      await instances.deleteInstanceRow(db, id)
    },
  }
}

export type InstanceSteps = ReturnType<typeof instanceSteps>

/** A place as one string: `127.100.0.7:5432`. */
export const placeKey = (p: Pick<Placement, 'address' | 'port'>): string => `${p.address}:${p.port}`
