/**
 * Composition root of `coffer serve` in the embedded mode: SQLite state, the in-process bus, the
 * local node and compute driver, the task runner and the API, in one process.
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism, totalmem } from 'node:os'
import { buildApi } from './api/server.js'
import { statusInputs } from './api/views/instance.js'
import { isSupervised } from './core/instance.js'
import { buildId } from './build-id.js'
import { InProcessBus } from './bus/in-process-bus.js'
import { LocalComputeDriver } from './compute/local/local-compute-driver.js'
import { apiUrl, type Settings } from './config.js'
import { takeHeartbeat } from './conductor/conductor.js'
import { errorMessage } from './core/errors.js'
import type { DatastoreManifest } from './core/manifest.js'
import { resolveOsAccount } from './guest/datastores/common/os-account.js'
import { datastores } from './guest/datastores/index.js'
import { bootstrapIdentity, type Bootstrap } from './identity/bootstrap.js'
import { purgeExpiredTokens } from './identity/identity.js'
import { NodeAgent } from './node/node-agent.js'
import { loadSealer, lockHome, preparePrivateHome, statePath } from './private-home.js'
import { syncDatastores } from './store/repos/datastores.js'
import { instancesOnNode } from './store/repos/instances.js'
import { retireSparesOfOtherBuilds } from './store/repos/spares.js'
import { releaseLeasesOf } from './store/repos/tasks.js'
import { openSqliteStore } from './store/state-store.js'
import { applyConfiguration } from './tasks/apply-configuration.js'
import { createInstance } from './tasks/create-instance.js'
import { restartInstance } from './tasks/restart-instance.js'
import { configurationSteps } from './tasks/steps/configuration-steps.js'
import { deleteInstance } from './tasks/delete-instance.js'
import { TaskRunner } from './tasks/runner.js'
import { SpareKeeper } from './tasks/spare-keeper.js'
import { instanceSpec } from './tasks/steps/instance-spec.js'
import { instanceSteps } from './tasks/steps/instance-steps.js'

export interface RunningServer {
  readonly url: string
  readonly bootstrap: Bootstrap
  stop(): Promise<void>
}

export async function startServer(settings: Settings, log: (msg: string) => void = console.error): Promise<RunningServer> {
  await preparePrivateHome(settings.home)
  const lock = await lockHome(settings.home, apiUrl(settings))
  const store = await openSqliteStore(statePath(settings.home))
  const sealer = await loadSealer(settings.home)
  const { db } = store
  const url = apiUrl(settings)
  const bootstrap = await bootstrapIdentity(db, settings.home, url, settings.adminPassword, settings.adminProject)
  await purgeExpiredTokens(db)

  const compute = new LocalComputeDriver(settings.home, settings.bind)
  const strays = await compute.removeStrayAccounts()
  if (strays.length > 0) log(`removed ${strays.length} OS account(s) this home made for instances that are gone`)
  const node = new NodeAgent({ name: settings.nodeName, bind: settings.bind, compute, datastores, log })
  const manifests = await node.discover()
  await syncDatastores(db, manifests)
  const bus = new InProcessBus()
  bus.attach(node.name, node)
  bus.onHeartbeat((hb) => void takeHeartbeat(db, hb).catch((err) => log(`heartbeat: ${errorMessage(err)}`)))

  const steps = instanceSteps({ db, bus, sealer, ports: settings.instancePorts, healthyTimeoutMs: 120_000 })
  const configSteps = configurationSteps({ db, bus })
  // Leases of a previous run of this node are released at once: in the embedded mode nobody else
  // could be running them, and waiting for them to expire would only delay the resume.
  const ownerPrefix = `${settings.nodeName}/`
  await releaseLeasesOf(db, ownerPrefix)
  const runner = new TaskRunner({
    db,
    owner: `${ownerPrefix}${process.pid}-${randomBytes(4).toString('hex')}`,
    workflows: [createInstance(steps, configSteps), deleteInstance(steps), applyConfiguration(configSteps, steps), restartInstance(configSteps, steps)],
    concurrency: settings.taskConcurrency,
    log,
  })

  const build = buildId()
  const stale = await retireSparesOfOtherBuilds(db, build)
  if (stale > 0) log(`replacing ${stale} spare(s) made by another build of Coffer`)
  const spares = new SpareKeeper({ db, sizes: settings.spares, build, kickTasks: () => runner.kick(), log })
  for (const name of Object.keys(settings.spares).filter((n) => !manifests.some((m) => m.name === n))) {
    log(`COFFER_SPARES names '${name}', which this node does not have (it has ${manifests.map((m) => m.name).join(', ')}); no spares for it`)
  }

  // Instances whose engine should be running: placed here, no task at work on them, and no fault
  // but one a restart or a configuration change may mend (core/instance.ts isSupervised).
  const runningOnNode = async () => {
    const rows = (await instancesOnNode(db, node.name)).filter((r) => r.port !== null && isSupervised(statusInputs(r)))
    return Promise.all(rows.map((r) => instanceSpec(db, r)))
  }
  // Running engines are left as they are; ones that stopped with the host are started again.
  await node.adopt(await runningOnNode())
  warmTemplates(compute, manifests, log)

  const anyNode = () => {
    const name = bus.nodes()[0]
    if (!name) throw new Error('no node is connected')
    return bus.node(name)
  }
  const api = buildApi(
    {
      db,
      settings,
      sealer,
      kickTasks: () => runner.kick(),
      guestOf: async (row) => ({ api: bus.node(row.node ?? ''), spec: await instanceSpec(db, row) }),
      catalog: async (datastore, version) => anyNode().catalog(datastore, version),
      characterSets: async (datastore, version) => anyNode().characterSets(datastore, version),
      // The one local node for now; a nodes table will give the largest node's figures.
      capacity: { ramMb: Math.floor(totalmem() / 2 ** 20), vcpus: availableParallelism() },
    },
    (msg, err) => log(`${msg}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  )
  await api.listen({ port: settings.port, host: settings.bind })
  runner.start()
  spares.start()
  node.startHeartbeats(settings.heartbeatMs, runningOnNode, (hb) => bus.publishHeartbeat(hb))

  return {
    url,
    bootstrap,
    async stop() {
      node.stopHeartbeats()
      await api.close()
      await spares.stop()
      await runner.stop()
      await store.close()
      await lock.release()
    },
  }
}

function warmTemplates(compute: LocalComputeDriver, manifests: readonly DatastoreManifest[], log: (m: string) => void): void {
  for (const m of manifests) {
    const ds = datastores[m.name]
    if (!ds?.warm) continue
    for (const version of m.versions) {
      void resolveOsAccount(ds.osAccountName)
        .then(async (account) => ds.warm?.({ cacheDir: await compute.prepareCache(account), account, version }))
        .catch((err) => log(`${m.name} ${version.name}: could not prepare a template (creates will be slower): ${errorMessage(err)}`))
    }
  }
}
