/**
 * The node role: hosts the guests of the instances placed on this host. It is given the bus, its
 * compute driver and its datastores, and nothing of the control plane: no state store. At start it
 * re-adopts its engines from their spec files, serves guest commands, registers itself (name,
 * addresses, port pool, capacity, manifests) and heartbeats.
 */
import { statfs } from 'node:fs/promises'
import { availableParallelism, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Bus } from '../bus/bus.js'
import type { ComputeDriver } from '../compute/compute-driver.js'
import { errorMessage } from '../core/errors.js'
import type { DatastoreManifest } from '../core/manifest.js'
import { resolveOsAccount } from '../guest/datastores/common/os-account.js'
import type { Datastore } from '../guest/datastores/datastore.js'
import { type AnnouncedPool, GUEST_PROTOCOL_VERSION, type NodeAnnouncement, type NodeResources } from '../guest/protocol.js'
import type { BackupPlace } from './node-backups.js'
import { FsLogStore } from './log-store.js'
import { NodeAgent } from './node-agent.js'
import { serveGuestApi } from './node-endpoint.js'

export interface NodeOptions {
  readonly bus: Bus
  readonly name: string
  /** The address instances listen on and clients are given. */
  readonly address: string
  readonly ports: { readonly first: number; readonly last: number }
  /** The pool instances get their own address from; the compute driver must have been given it too. */
  readonly pool?: AnnouncedPool | undefined
  readonly heartbeatMs: number
  /** How often a healthy engine gets a full look (a login); its process is checked every heartbeat. */
  readonly healthCheckMs?: number
  readonly compute: ComputeDriver
  readonly datastores: Readonly<Record<string, Datastore>>
  /**
   * Where backups go (the node streams backup data to it itself, never through the bus), and how
   * often instances' archives are shipped: every `shipMs`, closing the engine's current file once
   * older than `archiveSeconds`.
   */
  readonly backups?: BackupPlace & { readonly archiveSeconds: number; readonly shipMs: number }
  readonly log: (msg: string) => void
}

export interface RunningNode {
  readonly name: string
  readonly manifests: readonly DatastoreManifest[]
  /** Stops taking commands and heartbeating; engines keep running. */
  stop(): Promise<void>
  /** After stop(): stops every engine of the node, which start again at the node's next start. */
  stopEngines(onStopped?: (instanceId: string) => void): Promise<string[]>
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  const { bus, name, log } = o
  // Published guest logs sit beside the instances, in `<home>/logs`, until an object store takes them.
  const logStore = new FsLogStore(join(dirname(o.compute.cacheDir), 'logs'))
  const agent = new NodeAgent({
    name,
    bind: o.address,
    compute: o.compute,
    datastores: o.datastores,
    log,
    logStore,
    ...(o.backups ? { backupPlace: { store: o.backups.store, settings: o.backups.settings } } : {}),
    publishProgress: (p) => bus.publishProgress(p),
  })
  const manifests = await agent.discover()
  // Running engines are left as they are; ones that stopped with the host are started again.
  await agent.adoptFromSpecs()
  const unserve = serveGuestApi(bus, name, agent)
  agent.startHeartbeats(o.heartbeatMs, (hb) => bus.publishHeartbeat(hb), o.healthCheckMs)
  if (o.backups) agent.startArchiving(o.backups.shipMs, o.backups.archiveSeconds)
  const beat = setInterval(() => bus.publishNodeHeartbeat({ protocol: GUEST_PROTOCOL_VERSION, name, observedAt: Date.now(), instances: agent.held() }), o.heartbeatMs)
  beat.unref()

  const announcement: NodeAnnouncement = {
    protocol: GUEST_PROTOCOL_VERSION,
    name,
    addresses: [o.address],
    ports: o.ports,
    ...(o.pool ? { pool: o.pool } : {}),
    capacity: await resourcesOf(o.compute),
    manifests,
    heartbeatMs: o.heartbeatMs,
    limits: await o.compute.limits(),
  }
  const stopping = new AbortController()
  await registerUntilTaken(bus, announcement, o.heartbeatMs, log, stopping.signal)
  const warming = warmTemplates(o, manifests)

  return {
    name,
    manifests,
    async stop() {
      stopping.abort()
      clearInterval(beat)
      agent.stopHeartbeats()
      unserve()
    },
    // A template being built runs an engine of its own under the home: it finishes first, so no
    // process of the home outlives a shutdown.
    stopEngines: async (onStopped) => {
      await warming
      return agent.stopEngines(onStopped)
    },
  }
}

/** Registers, trying again every heartbeat until a control plane takes it (or the node stops). */
async function registerUntilTaken(bus: Bus, a: NodeAnnouncement, everyMs: number, log: (m: string) => void, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await bus.register(a)
      return
    } catch (err) {
      if (attempt === 1) log(`node ${a.name}: waiting for a control plane to take its registration: ${errorMessage(err)}`)
      await sleep(everyMs, undefined, { signal }).catch(() => undefined)
    }
  }
}

async function resourcesOf(compute: ComputeDriver): Promise<NodeResources> {
  const fs = await statfs(dirname(compute.cacheDir)).catch(() => undefined)
  return {
    ramMb: Math.floor(totalmem() / 2 ** 20),
    vcpus: availableParallelism(),
    diskGb: fs ? Math.floor((fs.blocks * fs.bsize) / 2 ** 30) : 0,
  }
}

/** Builds the templates in the background; resolves when every build has ended, well or not. */
async function warmTemplates(o: NodeOptions, manifests: readonly DatastoreManifest[]): Promise<void> {
  const builds: Promise<unknown>[] = []
  for (const m of manifests) {
    const ds = o.datastores[m.name]
    if (!ds?.warm) continue
    for (const version of m.versions) {
      builds.push(
        resolveOsAccount(ds.osAccountName)
          .then(async (account) => ds.warm?.({ cacheDir: await o.compute.prepareCache(account), account, version }))
          .catch((err) => o.log(`${m.name} ${version.name}: could not prepare a template (creates will be slower): ${errorMessage(err)}`)),
      )
    }
  }
  await Promise.all(builds)
}
