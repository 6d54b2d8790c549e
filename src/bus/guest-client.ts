import type { CallOptions, GuestApi } from '../guest/protocol.js'
import type { Bus, NodeCall } from './bus.js'

/**
 * A node's GuestApi on the control plane's side: every method is a bus call. Call options (an
 * AbortSignal) never cross the wire; the bus turns them into a cancel message.
 */
export function guestClient(bus: Pick<Bus, 'call'>, node: string): GuestApi {
  const call = <T>(method: NodeCall['method'], args: readonly unknown[], options?: CallOptions): Promise<T> =>
    bus.call(node, { method, args }, options) as Promise<T>
  return {
    ensure: (desired) => call('ensure', [desired]),
    forget: (id) => call('forget', [id]),
    addressIsFree: (address, port) => call('addressIsFree', [address, port]),
    createEnvelope: (spec) => call('createEnvelope', [spec]),
    prepare: (spec, initial, options) => call('prepare', [spec, initial], options),
    status: (spec) => call('status', [spec]),
    stop: (spec) => call('stop', [spec]),
    destroy: (spec) => call('destroy', [spec]),
    effectiveConfiguration: (spec) => call('effectiveConfiguration', [spec]),
    catalog: (datastore, version) => call('catalog', [datastore, version]),
    characterSets: (datastore, version) => call('characterSets', [datastore, version]),
    configure: (spec, values, options) => call('configure', [spec, values], options),
    restart: (spec, options) => call('restart', [spec], options),
    growVolume: (spec, options) => call('growVolume', [spec], options),
    schema: (spec, op) => call('schema', [spec, op]),
    log: (spec, op) => call('log', [spec, op]),
    backup: (spec, command, options) => call('backup', [spec, command], options),
    restore: (spec, command, options) => call('restore', [spec, command], options),
    drill: (datastore, version, command, options) => call('drill', [datastore, version, command], options),
    removeBackup: (datastore, backup, archive) => call('removeBackup', [datastore, backup, archive]),
    removeArchive: (datastore, archive) => call('removeArchive', [datastore, archive]),
    archive: (spec, archive) => call('archive', [spec, archive]),
    prepareSource: (spec) => call('prepareSource', [spec]),
    seedReplica: (spec, source, options) => call('seedReplica', [spec, source], options),
    follow: (spec, source, options) => call('follow', [spec, source], options),
    promote: (spec, options) => call('promote', [spec], options),
    fence: (spec) => call('fence', [spec]),
    caughtUp: (spec, position) => call('caughtUp', [spec, position]),
    replicationStatus: (spec) => call('replicationStatus', [spec]),
    setSynchronous: (spec, replicas) => call('setSynchronous', [spec, replicas]),
    copyReplicaUsers: (spec, source) => call('copyReplicaUsers', [spec, source]),
    setWriter: (frontend) => call('setWriter', [frontend]),
    removeWriter: (address, port) => call('removeWriter', [address, port]),
  }
}
