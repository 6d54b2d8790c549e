/**
 * The guest's view of the instances on this node: the InstanceContext every datastore call takes,
 * made from an instance's spec, the engine versions found here and the instance's envelope.
 */
import type { ComputeDriver } from '../compute/compute-driver.js'
import { CofferError, NotFound } from '../core/errors.js'
import type { DatastoreManifest, DatastoreVersionInfo } from '../core/manifest.js'
import { resolveOsAccount } from '../guest/datastores/common/os-account.js'
import type { Datastore, InstanceContext, OsAccount } from '../guest/datastores/datastore.js'
import type { InstanceSpec } from '../guest/protocol.js'

export interface InstanceContextsOptions {
  /** The node's name, in errors. */
  readonly name: string
  /** Where engines listen when an instance has no address of its own. */
  readonly bind: string
  readonly compute: ComputeDriver
  readonly datastores: Readonly<Record<string, Datastore>>
}

export class InstanceContexts {
  readonly #o: InstanceContextsOptions
  #manifests = new Map<string, DatastoreManifest>()
  /** Node-wide engine accounts (Debian's `postgres`...) by name: looked up once, they do not change. */
  readonly #nodeAccounts = new Map<string, Promise<OsAccount>>()

  constructor(o: InstanceContextsOptions) {
    this.#o = o
  }

  /** Finds installed engines; call before taking commands. */
  async discover(): Promise<DatastoreManifest[]> {
    const found = await Promise.all(Object.values(this.#o.datastores).map((ds) => ds.discover()))
    this.#manifests = new Map(found.map((m) => [m.name, m]))
    return found
  }

  /** A version of a datastore found here by `discover`. */
  version(datastore: string, version: string): DatastoreVersionInfo | undefined {
    return this.#manifests.get(datastore)?.versions.find((v) => v.name === version)
  }

  /** A datastore version of this node, with what a call outside any instance runs with (its catalogs). */
  async nodeScope(datastore: string, version: string): Promise<{ ds: Datastore; node: { cacheDir: string; account: OsAccount; version: DatastoreVersionInfo } }> {
    const ds = this.#o.datastores[datastore]
    const info = this.version(datastore, version)
    if (!ds || !info) throw new NotFound(`This node has no ${datastore} ${version}.`)
    const account = await this.nodeAccount(ds)
    return { ds, node: { cacheDir: await this.#o.compute.prepareCache(account), account, version: info } }
  }

  datastore(spec: InstanceSpec): Datastore {
    const ds = this.#o.datastores[spec.datastore]
    if (!ds) throw new CofferError('DATASTORE_NOT_FOUND', `This node has no datastore ${spec.datastore}.`, { retryable: false })
    return ds
  }

  /** The guest's view of an instance on this node; undefined when it has no envelope here. */
  async find(spec: InstanceSpec): Promise<InstanceContext | undefined> {
    const ds = this.datastore(spec)
    const manifest = this.#manifests.get(spec.datastore) ?? (await ds.discover())
    const version = manifest.versions.find((v) => v.name === spec.version)
    if (!version) throw new CofferError('DATASTORE_VERSION_NOT_FOUND', `This node has no ${spec.datastore} ${spec.version}.`, { retryable: false })
    const envelope = await this.#o.compute.envelope(spec.instanceId)
    if (!envelope) return undefined
    const { account, ...paths } = envelope
    const nodeAccount = await this.nodeAccount(ds)
    return {
      instanceId: spec.instanceId,
      version,
      ...paths,
      // The datastore's own account builds templates there; it is let through on first use.
      cacheDir: await this.#o.compute.prepareCache(nodeAccount),
      bindAddress: spec.address ?? this.#o.bind,
      port: spec.port,
      flavor: spec.flavor,
      allowedCidrs: spec.allowedCidrs,
      account,
      nodeAccount,
    }
  }

  async require(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    const ctx = await this.find(spec)
    // Retrying cannot make one: the envelope is created by its own step, before any guest command.
    if (!ctx) throw new CofferError('INSTANCE_NOT_READY', `Instance ${spec.instanceId} has no envelope on node ${this.#o.name}.`, { retryable: false })
    return signal ? { ...ctx, signal } : ctx
  }

  /**
   * The context of a command that may start the engine: the flavor's limits are written first and
   * the engine joins them as it starts, so a new flavor takes effect at the next start.
   */
  async limited(spec: InstanceSpec, signal?: AbortSignal): Promise<InstanceContext> {
    const ctx = await this.require(spec, signal)
    const cgroupProcs = await this.#o.compute.applyLimits(spec.instanceId, spec.flavor)
    return cgroupProcs.length > 0 ? { ...ctx, account: { ...ctx.account, cgroupProcs } } : ctx
  }

  nodeAccount(ds: Datastore): Promise<OsAccount> {
    let account = this.#nodeAccounts.get(ds.osAccountName)
    if (!account) {
      account = resolveOsAccount(ds.osAccountName)
      account.catch(() => this.#nodeAccounts.delete(ds.osAccountName))
      this.#nodeAccounts.set(ds.osAccountName, account)
    }
    return account
  }
}
