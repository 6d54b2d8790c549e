/**
 * The control plane role: state store, identity, conductor, task runner, spare keeper and API. It
 * is given the bus and shares nothing else with the nodes: it learns of them from their
 * registrations and heartbeats (the nodes table), and tells them what to do over the bus.
 */
import { randomBytes } from 'node:crypto'
import { buildApi } from '../api/server.js'
import { buildId } from '../build-id.js'
import type { Bus } from '../bus/bus.js'
import { apiUrl, type Settings } from '../config.js'
import { takeHeartbeat } from '../conductor/conductor.js'
import { ProgressBoard } from '../conductor/progress-board.js'
import { NodeRegistry } from '../conductor/node-registry.js'
import { errorMessage } from '../core/errors.js'
import { bootstrapIdentity, type Bootstrap } from '../identity/bootstrap.js'
import { purgeExpiredTokens } from '../identity/identity.js'
import { loadSealer, lockHome, preparePrivateHome, statePath } from '../private-home.js'
import { listDatastores } from '../store/repos/datastores.js'
import { retireSparesOfOtherBuilds } from '../store/repos/spares.js'
import { releaseLeasesOf } from '../store/repos/tasks.js'
import { loadBackupKey } from '../storage/backup-key.js'
import { createBackup } from '../tasks/create-backup.js'
import { deleteBackup } from '../tasks/delete-backup.js'
import { backupKeysWith } from '../tasks/steps/backup-keys.js'
import { backupSteps } from '../tasks/steps/backup-steps.js'
import { verifyBackup } from '../tasks/verify-backup.js'
import { detachReplica, ejectSource, promoteReplica } from '../tasks/replica-set.js'
import { writerSteps } from '../tasks/steps/writer-steps.js'
import { replicaSteps } from '../tasks/steps/replica-steps.js'
import { openSqliteStore } from '../store/state-store.js'
import { BackupScheduler } from '../scheduler/backup-scheduler.js'
import { defaultQuotas } from '../api/routes/quotas.js'
import { applyConfiguration } from '../tasks/apply-configuration.js'
import { createInstance } from '../tasks/create-instance.js'
import { deleteInstance } from '../tasks/delete-instance.js'
import { resizeInstance } from '../tasks/resize-instance.js'
import { restartInstance } from '../tasks/restart-instance.js'
import { startInstance } from '../tasks/start-instance.js'
import { stopInstance } from '../tasks/stop-instance.js'
import { actionSteps } from '../tasks/steps/action-steps.js'
import { resizeVolume } from '../tasks/resize-volume.js'
import { volumeSteps } from '../tasks/steps/volume-steps.js'
import { TaskRunner } from '../tasks/runner.js'
import { SpareKeeper } from '../tasks/spare-keeper.js'
import { configurationSteps } from '../tasks/steps/configuration-steps.js'
import { instanceSpec } from '../tasks/steps/instance-spec.js'
import { instanceSteps } from '../tasks/steps/instance-steps.js'
import type { Log } from '../logger.js'
import { nodeLookups } from './node-lookups.js'
import { FailoverWatch } from './failover-watch.js'
import { NodeSync } from './node-sync.js'

export interface ControlPlaneOptions {
  readonly settings: Settings
  readonly bus: Bus
  readonly log: Log
  /** What `POST /mgmt/shutdown` does: the composition root knows the node and how to exit. */
  readonly onShutdown?: () => void
}

export interface ControlPlane {
  readonly url: string
  readonly bootstrap: Bootstrap
  /** Starts answering: the API, the task runner and the spare keeper. Nodes may register before. */
  open(): Promise<void>
  stop(): Promise<void>
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const { settings, bus, log } = o
  await preparePrivateHome(settings.home)
  const lock = await lockHome(settings.home, apiUrl(settings))
  const store = await openSqliteStore(statePath(settings.home))
  const sealer = await loadSealer(settings.home)
  const backupKeys = backupKeysWith(await loadBackupKey(settings.home, settings.backupKey))
  const { db } = store
  const url = apiUrl(settings)
  const bootstrap = await bootstrapIdentity(db, settings.home, url, settings.adminPassword, settings.adminProject)
  await purgeExpiredTokens(db)

  let closed = false
  // Made once the task runner exists; heartbeats taken before then need no failover.
  let failover: FailoverWatch | undefined
  const nodes = new NodeRegistry(db, log)
  await nodes.load()
  const sync = new NodeSync({ db, bus, log })
  bus.onRegister(async (a) => {
    await nodes.register(a)
    sync.reset(a.name)
    void sync.sync(a.name)
  })
  bus.onNodeHeartbeat((hb) => {
    if (closed) return
    void nodes
      .heartbeat(hb)
      .then((known) => (known ? sync.sync(hb.name, hb.instances) : log(`heartbeat of node ${hb.name}, which never registered: ignored`)))
      .catch((err) => log(`node heartbeat: ${errorMessage(err)}`))
  })
  bus.onHeartbeat((hb) => {
    if (closed) return
    void takeHeartbeat(db, hb)
      // An engine found down may be a source a failover waits on: looked at now, not at the next tick.
      .then((taken) => (taken && hb.serviceStatus !== 'HEALTHY' ? failover?.kick() : undefined))
      .catch((err) => log(`heartbeat: ${errorMessage(err)}`))
  })
  const progress = new ProgressBoard()
  bus.onProgress((p) => progress.take(p))

  const steps = instanceSteps({ db, bus, sealer, healthyTimeoutMs: 120_000 })
  const configSteps = configurationSteps({ db, bus })
  const actions = actionSteps({ db, bus })
  const backupWork = backupSteps({ db, bus, keys: backupKeys, log })
  const replicas = replicaSteps({ db, bus, log })
  const writers = writerSteps({ db, bus, log })
  // Leases of a previous run of this process are released at once: in the embedded mode nobody
  // else could be running them, and waiting for them to expire would only delay the resume.
  const ownerPrefix = `${settings.nodeName}/`
  await releaseLeasesOf(db, ownerPrefix)
  const runner = new TaskRunner({
    db,
    owner: `${ownerPrefix}${process.pid}-${randomBytes(4).toString('hex')}`,
    workflows: [createInstance(steps, configSteps, (id, restore, signal) => backupWork.restoreInto(id, restore, signal), (id, source, signal) => replicas.seed(id, source, signal), (source) => writers.form(source)), deleteInstance(steps, writers), applyConfiguration(configSteps, steps), restartInstance(configSteps, steps),
      resizeInstance(actions, steps), stopInstance(actions, steps), startInstance(actions, steps), resizeVolume(volumeSteps({ db, bus }), steps),
      createBackup(backupWork), deleteBackup(backupWork), verifyBackup(backupWork),
      promoteReplica(replicas, writers, log), ejectSource(replicas, writers, log), detachReplica(replicas)],
    concurrency: settings.taskConcurrency,
    log,
  })

  const build = buildId()
  const stale = await retireSparesOfOtherBuilds(db, build)
  if (stale > 0) log(`replacing ${stale} spare(s) made by another build of Coffer`)
  const spares = new SpareKeeper({ db, policy: settings.spares, build, kickTasks: () => runner.kick(), log })

  // Backup schedules (issue 13): due runs ask for backups as the API does; see scheduler/backup-scheduler.ts.
  const backupSchedules = new BackupScheduler({ db, requests: { keys: backupKeys, quotaDefaults: defaultQuotas(settings) }, kickTasks: () => runner.kick(), log })

  const lookups = nodeLookups(db, bus)
  const api = buildApi(
    {
      db,
      settings,
      sealer,
      kickTasks: () => runner.kick(),
      guestOf: async (row) => ({ api: bus.node(row.node ?? ''), spec: await instanceSpec(db, row) }),
      catalog: lookups.catalog,
      characterSets: lookups.characterSets,
      capacity: nodes.capacity,
      backupKeys,
      progress,
      backupStore: settings.objectStore.kind === 's3' ? { kind: 's3', bucket: settings.objectStore.bucket } : { kind: 'fs' },
      ...(o.onShutdown ? { shutdown: o.onShutdown } : {}),
    },
    (msg, err) => log(`${msg}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    log,
  )
  let unwatch = (): void => undefined
  failover = new FailoverWatch({ db, kickTasks: () => runner.kick(), afterMs: settings.failoverMs, maxLagBytes: settings.failoverMaxLagBytes, log })

  return {
    url,
    bootstrap,
    async open() {
      const served = (await listDatastores(db)).map((d) => d.name)
      for (const name of Object.keys(settings.spares.sizes).filter((n) => !served.includes(n))) {
        log(`COFFER_SPARES names '${name}', which no node serves (served: ${served.join(', ')}); no spares for it`)
      }
      await api.listen({ port: settings.port, host: settings.bind })
      runner.start()
      spares.start()
      backupSchedules.start()
      unwatch = nodes.watch(settings.heartbeatMs)
      // Often: a source's grace (failoverMs) is a second or two, and a look is one indexed query.
      failover?.start(Math.min(250, settings.heartbeatMs))
    },
    async stop() {
      closed = true
      unwatch()
      failover?.stop()
      await api.close()
      await backupSchedules.stop()
      await spares.stop()
      await runner.stop()
      await store.close()
      await lock.release()
    },
  }
}
