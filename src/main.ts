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

export interface RunningServer {
  readonly url: string
  readonly bootstrap: Bootstrap
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

  const compute = new LocalComputeDriver(settings.home, settings.bind, { volumeMeasureMs: settings.volumeMeasureMs, loopVolumes: settings.loopVolumes, cgroups: settings.cgroups })
  const strays = await compute.removeStrayAccounts()
  if (strays.length > 0) log(`removed ${strays.length} OS account(s) this home made for instances that are gone`)
  node = await startNode({
    bus,
    name: settings.nodeName,
    address: settings.bind,
    ports: settings.instancePorts,
    heartbeatMs: settings.heartbeatMs,
    compute,
    datastores,
    log,
  })
  await control.open()

  return {
    url: control.url,
    bootstrap: control.bootstrap,
    async stop() {
      await control.stop()
      await node?.stop()
    },
  }
}
