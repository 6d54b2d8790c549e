/**
 * Composition root of `coffer serve` in the embedded mode: the control plane (SQLite state, API,
 * task runner) and the local node (compute driver, datastores), in one process, joined by the
 * in-process bus and by nothing else.
 */
import { InProcessBus } from './bus/in-process-bus.js'
import { LocalComputeDriver } from './compute/local/local-compute-driver.js'
import type { Settings } from './config.js'
import { startControlPlane } from './control-plane/start-control-plane.js'
import { datastores } from './guest/datastores/index.js'
import type { Bootstrap } from './identity/bootstrap.js'
import type { Log } from './logger.js'
import { startNode, type RunningNode } from './node/start-node.js'
import { openObjectStore } from './storage/open-object-store.js'
import { poolUnusable } from './compute/local/addresses.js'
import type { AddressPool } from './core/address-pool.js'

export interface RunningServer {
  readonly url: string
  readonly bootstrap: Bootstrap
  /** Where instances listen, said for `serve`'s start-up lines. */
  readonly instanceAddresses: string
  stop(): Promise<void>
}

/**
 * `exit` is called once `POST /mgmt/shutdown` has stopped the server and every engine of the home.
 */
export async function startServer(settings: Settings, log: Log = console.error, exit: () => void = () => process.exit(0)): Promise<RunningServer> {
  const bus = new InProcessBus()
  let node: RunningNode | undefined
  let shuttingDown = false
  const shutdownAll = async (): Promise<void> => {
    if (shuttingDown) return
    shuttingDown = true
    log('shutdown: stopping the server, then every engine of this home (they start again at the next coffer serve)')
    // Tasks and the supervisor first, so nothing starts an engine again while they are stopped.
    await control.stop()
    await node?.stop()
    const stopped = (await node?.stopEngines((id) => log(`instance ${id}: engine stopped`))) ?? []
    log(`shutdown: ${stopped.length} engine(s) stopped; the server exits`)
    exit()
  }
  // The control plane first, so it is listening when the node registers; it answers clients only
  // once the node has, so resumed tasks and the first requests find it.
  const control = await startControlPlane({
    settings,
    bus,
    log,
    onShutdown: () => void shutdownAll().catch((err) => log(`shutdown: ${err instanceof Error ? err.message : String(err)}`)),
  })

  const { pool, said } = await usablePool(settings)
  const compute = new LocalComputeDriver(settings.home, settings.bind, { volumeMeasureMs: settings.volumeMeasureMs, loopVolumes: settings.loopVolumes, cgroups: settings.cgroups, ...(pool ? { pool } : {}) })
  const strays = await compute.removeStrayAccounts()
  if (strays.length > 0) log(`removed ${strays.length} OS account(s) this home made for instances that are gone`)
  node = await startNode({
    bus,
    name: settings.nodeName,
    address: settings.bind,
    ports: settings.instancePorts,
    pool,
    heartbeatMs: settings.heartbeatMs,
    healthCheckMs: settings.healthCheckMs,
    compute,
    datastores,
    backups: { store: await openObjectStore(settings.objectStore), settings: settings.objectStore, archiveSeconds: settings.archiveSeconds, shipMs: Math.min(5000, settings.archiveSeconds * 1000) },
    log,
  })
  await control.open()

  return {
    url: control.url,
    bootstrap: control.bootstrap,
    instanceAddresses: said,
    async stop() {
      await control.stop()
      await node?.stop()
    },
  }
}

/** The settings' address pool when this host can use it, and a sentence saying where instances listen. */
async function usablePool(settings: Settings): Promise<{ pool: AddressPool | undefined; said: string }> {
  const pool = settings.instanceNetwork
  const ports = `${settings.instancePorts.first}-${settings.instancePorts.last}`
  const shared = `instances listen on ${settings.bind}, each on its own port from ${ports}`
  if (!pool) return { pool, said: `Instance addresses: no pool (COFFER_INSTANCE_NETWORK=off or --bind not on loopback): ${shared}.` }
  const where = pool.interface ? `${pool.cidr} on ${pool.interface}` : pool.cidr
  const why = await poolUnusable(pool)
  if (why) return { pool: undefined, said: `Instance addresses: cannot use ${where} (${why}): ${shared} instead.` }
  return { pool, said: `Instance addresses: each instance gets its own from ${where}, its engine on its standard port (PostgreSQL 5432, MariaDB 3306, Redis 6379).` }
}
