import type { Bus, NodeCall } from '../bus/bus.js'
import { CofferError } from '../core/errors.js'
import type { GuestApi } from '../guest/protocol.js'

/**
 * Takes the guest commands the bus brings for this node and runs them on its agent. Arguments
 * arrive as plain JSON data; the bus's cancel arrives as `signal`, handed to the commands that
 * take one.
 */
export function serveGuestApi(bus: Pick<Bus, 'serve'>, name: string, agent: GuestApi): () => void {
  return bus.serve(name, (call: NodeCall, signal: AbortSignal) => {
    const a = call.args as any[]
    switch (call.method) {
      case 'ensure':
        return agent.ensure(a[0])
      case 'forget':
        return agent.forget(a[0])
      case 'addressIsFree':
        return agent.addressIsFree(a[0], a[1])
      case 'createEnvelope':
        return agent.createEnvelope(a[0])
      case 'prepare':
        return agent.prepare(a[0], a[1], { signal })
      case 'status':
        return agent.status(a[0])
      case 'stop':
        return agent.stop(a[0])
      case 'destroy':
        return agent.destroy(a[0])
      case 'effectiveConfiguration':
        return agent.effectiveConfiguration(a[0])
      case 'catalog':
        return agent.catalog(a[0], a[1])
      case 'characterSets':
        return agent.characterSets(a[0], a[1])
      case 'configure':
        return agent.configure(a[0], a[1], { signal })
      case 'restart':
        return agent.restart(a[0], { signal })
      case 'growVolume':
        return agent.growVolume(a[0], { signal })
      case 'schema':
        return agent.schema(a[0], a[1])
      case 'log':
        return agent.log(a[0], a[1])
      case 'backup':
        return agent.backup(a[0], a[1], { signal })
      case 'restore':
        return agent.restore(a[0], a[1], { signal })
      case 'drill':
        return agent.drill(a[0], a[1], a[2], { signal })
      case 'removeBackup':
        return agent.removeBackup(a[0], a[1], a[2])
      case 'removeArchive':
        return agent.removeArchive(a[0], a[1])
      case 'archive':
        return agent.archive(a[0], a[1])
      case 'prepareSource':
        return agent.prepareSource(a[0])
      case 'seedReplica':
        return agent.seedReplica(a[0], a[1], { signal })
      case 'follow':
        return agent.follow(a[0], a[1], { signal })
      case 'promote':
        return agent.promote(a[0], { signal })
      case 'fence':
        return agent.fence(a[0])
      case 'caughtUp':
        return agent.caughtUp(a[0], a[1])
      case 'replicationStatus':
        return agent.replicationStatus(a[0])
      case 'setSynchronous':
        return agent.setSynchronous(a[0], a[1])
      case 'copyReplicaUsers':
        return agent.copyReplicaUsers(a[0], a[1])
      case 'setWriter':
        return agent.setWriter(a[0])
      case 'removeWriter':
        return agent.removeWriter(a[0], a[1])
      default:
        return Promise.reject(new CofferError('BAD_REQUEST', `node ${name} has no command ${String(call.method)}`, { retryable: false }))
    }
  })
}
