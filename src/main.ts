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
import { startNode } from './node/start-node.js'
import { openObjectStore } from './storage/open-object-store.js'

export interface RunningServer {
  readonly url: string
  readonly bootstrap: Bootstrap
  stop(): Promise<void>
}

export async function startServer(settings: Settings, log: (msg: string) => void = console.error): Promise<RunningServer> {
  const bus = new InProcessBus()
  // The control plane first, so it is listening when the node registers; it answers clients only
  // once the node has, so resumed tasks and the first requests find it.
  const control = await startControlPlane({ settings, bus, log })

  const compute = new LocalComputeDriver(settings.home, settings.bind)
  const strays = await compute.removeStrayAccounts()
  if (strays.length > 0) log(`removed ${strays.length} OS account(s) this home made for instances that are gone`)
  const node = await startNode({
    bus,
    name: settings.nodeName,
    address: settings.bind,
    ports: settings.instancePorts,
    heartbeatMs: settings.heartbeatMs,
    compute,
    datastores,
    objectStore: await openObjectStore(settings.objectStore),
    log,
  })
  await control.open()

  return {
    url: control.url,
    bootstrap: control.bootstrap,
    async stop() {
      await control.stop()
      await node.stop()
    },
  }
}
