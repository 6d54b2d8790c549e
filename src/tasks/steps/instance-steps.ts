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
import { takePortAfterPlace } from './port-fault.js'

export interface StepDeps {
  readonly db: Db
  readonly bus: Bus
  /** Opens the initial users' sealed passwords just before they go to the guest. */
  readonly sealer: Sealer
  /** How long an engine may take to answer after prepare. */
  readonly healthyTimeoutMs: number
}

export interface Placement {
  readonly node: string
  readonly port: number
}

export function instanceSteps(d: StepDeps) {
  const { db, bus } = d
  const node = async (id: string) => {
    const row = await requireInstance(db, id)
    return { api: bus.node(row.node ?? ''), spec: await instanceSpec(db, row) }
  }
  /** Records the lowest port of the range that no instance has and the node finds free. */
  const givePort = async (id: string, name: string, ports: { readonly first: number; readonly last: number }): Promise<Placement> => {
    // The instance's own port is among them: a move never lands where it came from.
    const used = await instances.usedPorts(db, name)
    for (let port = ports.first; port <= ports.last; port++) {
      if (used.has(port) || !(await bus.node(name).portIsFree(port))) continue
      try {
        await instances.updateInstance(db, id, { node: name, port })
      } catch {
        used.add(port) // another placement took it between our look and our write
        continue
      }
      await takePortAfterPlace(id, port)
      return { node: name, port }
    }
    throw new CofferError('INTERNAL', `no free port left from ${ports.first} to ${ports.last}`, { retryable: false })
  }
  return {
    /** Picks a node and a free port, and records them on the instance. Keeps an earlier choice. */
    async place(id: string): Promise<Placement> {
      const row = await requireInstance(db, id)
      if (row.node && row.port !== null) return { node: row.node, port: Number(row.port) }
      const { name, ports } = await chooseNode(db, row)
      return givePort(id, name, ports)
    },

    /** The port recorded on the instance; null before it is placed. */
    async portOf(id: string): Promise<number | null> {
      const row = await requireInstance(db, id)
      return row.port === null ? null : Number(row.port)
    },

    /**
     * Moves the instance, whose engine could not listen on port `from` (another process took it
     * after it was probed), to another free port of the same node. Its engine is not running: it
     * renders the new port into its configuration at its next start. An instance no longer on
     * `from` was moved already and stays where it is.
     */
    async movePort(id: string, from: number): Promise<Placement> {
      const row = await requireInstance(db, id)
      if (!row.node || row.port === null) throw new CofferError('INTERNAL', `instance ${id} was never placed`, { retryable: false })
      if (Number(row.port) !== from) return { node: row.node, port: Number(row.port) }
      const on = (await listNodes(db)).find((n) => n.name === row.node)
      if (!on) throw new CofferError('INTERNAL', `node ${row.node} of instance ${id} is not registered`)
      return givePort(id, row.node, on.ports)
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
