import { tenantMessage } from '../../core/fault-message.js'
import { instanceStatus, operatingStatus, type StatusInputs } from '../../core/instance.js'
import type { InstanceRow } from '../../store/schema.js'
import { volumeUse } from '../../core/volume-use.js'
import { links, troveTime } from '../links.js'

export const statusInputs = (r: InstanceRow): StatusInputs => ({
  taskStatus: r.task_status,
  serviceStatus: r.service_status,
  fault: r.fault_message ? { message: r.fault_message, created: r.fault_created ?? r.updated_at, operation: r.fault_operation } : null,
  pendingRestart: Number(r.pending_restart) === 1,
  stopped: Number(r.stopped) === 1,
})

export interface InstanceViewExtras {
  readonly datastore: { readonly type: string; readonly version: string; readonly version_number: string }
  /**
   * Where the instance listens when it has no address of its own (placed without a pool): its
   * node's address; and the network its addresses are from (the pool's CIDR, or that address /32).
   */
  readonly node: { readonly address: string; readonly network: string }
  /** The attached configuration group's name, when one is attached. */
  readonly configurationName?: string | undefined
  /** Whether the caller is an administrator, who alone sees a fault's details (host paths, engine logs). */
  readonly admin?: boolean
  /** The ids of the replicas following this instance (Trove's `replicas`). */
  readonly replicas?: readonly string[]
  /** The writer address of the replica set the instance is in (kept on its source's row). */
  readonly writer?: { readonly address: string; readonly port: number } | undefined
}


export function instanceView(base: string, r: InstanceRow, x: InstanceViewExtras) {
  const s = statusInputs(r)
  return {
    id: r.id,
    name: r.name,
    status: instanceStatus(s),
    operating_status: operatingStatus(s),
    links: links(base, r.project_id, `instances/${r.id}`),
    flavor: { id: r.flavor_id, links: links(base, r.project_id, `flavors/${r.flavor_id}`) },
    datastore: x.datastore,
    region: 'RegionOne',
    access: accessView(r),
    // Coffer's extra fields: used, used_percent, type (ext4-loop, folder) and, from 90%, a warning.
    volume: { size: r.volume_size, ...volumeUse({ sizeGb: r.volume_size, usedBytes: r.volume_used_bytes === null ? null : Number(r.volume_used_bytes), freeBytes: r.volume_free_bytes === null ? null : Number(r.volume_free_bytes), type: r.volume_type }) },
    ...(r.port === null ? {} : placeView(r.address ?? x.node.address, r.address ? x.node.network : `${x.node.address}/32`, Number(r.port))),
    ...(r.replica_of ? { replica_of: { id: r.replica_of, links: links(base, r.project_id, `instances/${r.replica_of}`) } } : {}),
    ...(x.replicas?.length ? { replicas: x.replicas.map((id) => ({ id, links: links(base, r.project_id, `instances/${id}`) })) } : {}),
    // Coffer's extra: the engine's replication state, as the last heartbeat said it.
    ...(r.replication && (r.replica_of || x.replicas?.length) ? { replication: JSON.parse(r.replication) } : {}),
    // Coffer's extra: where clients reach the set's current source, whichever member that is.
    ...(x.writer ? { endpoints: { writer: x.writer } } : {}),
    ...(Number(r.auto_failover) === 1 ? { auto_failover: true } : {}),
    ...(Number(r.sync_replication) === 1 ? { sync: true } : {}),
    ...(r.configuration_id ? { configuration: { id: r.configuration_id, name: x.configurationName ?? '', links: links(base, r.project_id, `configurations/${r.configuration_id}`) } } : {}),
    // Every writer of a fault is covered: what tenants read is made path-free here too.
    ...(s.fault ? { fault: { message: x.admin ? s.fault.message : tenantMessage(s.fault.message), created: troveTime(s.fault.created), ...(x.admin ? { details: r.fault_details ?? s.fault.message } : {}) } } : {}),
    created: troveTime(r.created_at),
    updated: troveTime(r.updated_at),
    service_status_updated: troveTime(r.service_status_updated),
  }
}

/**
 * Trove's `ip`, `addresses` and `hostname` (no DNS here: the address), and Coffer's `port`, inside
 * each address too, so clients that print only `addresses` (openstack database instance list) show
 * where to connect. With an address of its own the port is the engine's standard one.
 */
const placeView = (address: string, network: string, port: number) => ({
  ip: [address],
  addresses: [{ address, type: 'private', network, port }],
  port,
  hostname: address,
})


/** Trove's `access`: allowed_cidrs only when some were given. */
export const accessView = (r: Pick<InstanceRow, 'is_public' | 'allowed_cidrs'>) => ({
  is_public: Number(r.is_public) === 1,
  ...(r.allowed_cidrs ? { allowed_cidrs: JSON.parse(r.allowed_cidrs) as string[] } : {}),
})
