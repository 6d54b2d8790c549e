import type { Command } from 'commander'
import { ApiError, type CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { NoSuchResource, resolveConfigurationId, resolveFlavorId, resolveInstanceId } from '../resolve.js'

type Opts = { json?: boolean }

interface CreateOpts extends Opts {
  size: string
  datastore?: string
  datastoreVersion?: string
  datastore_version?: string
  configuration?: string
  databases?: string[]
  users?: string[]
  wait?: boolean
  backup?: string
  restoreFrom?: string
  restoreTime?: string
  replicaOf?: string
  replica_of?: string
  replicaCount?: string
  replica_count?: string
  autoFailover?: boolean
}

/** What a person needs of an instance; --json prints it all. */
const summary = (i: any) => ({
  id: i.id,
  name: i.name,
  status: i.status,
  operating_status: i.operating_status,
  datastore: i.datastore?.type,
  datastore_version: i.datastore?.version,
  flavor: i.flavor?.id,
  address: i.port ? `${i.ip?.[0] ?? i.hostname}:${i.port}` : '-',
  volume: i.volume?.size === undefined ? undefined : `${i.volume.size} GB${i.volume.type ? ` (${i.volume.type})` : ''}`,
  volume_used: i.volume?.used === undefined ? '-' : `${i.volume.used} GB (${i.volume.used_percent}%)`,
  ...(i.volume?.warning ? { volume_warning: i.volume.warning } : {}),
  configuration: i.configuration ? `${i.configuration.name} (${i.configuration.id})` : '-',
  access: i.access?.allowed_cidrs?.length ? `from ${i.access.allowed_cidrs.join(', ')}` : 'from any address',
  // Trove's roles: a replica follows its replica_of; a replica source lists its replicas.
  replica_role: i.replica_of ? `replica of ${i.replica_of.id}` : i.replicas?.length ? `source of ${i.replicas.map((r: any) => r.id).join(', ')}` : '-',
  ...(i.replication
    ? {
        replication: `${i.replication.role}${i.replication.connected === undefined ? '' : i.replication.connected ? ', connected' : ', NOT connected'}${i.replication.lagBytes === undefined ? '' : `, lag ${i.replication.lagBytes} bytes`}${i.replication.lagSeconds === undefined ? '' : ` / ${i.replication.lagSeconds} s`}${i.replication.position ? `, at ${i.replication.position}` : ''}`,
      }
    : {}),
  // The set's writer address: it reaches whichever member is the source now.
  ...(i.endpoints?.writer ? { writer_address: `${i.endpoints.writer.address}:${i.endpoints.writer.port}` } : {}),
  ...(i.restorable ? { restorable: `${i.restorable.earliest} to ${i.restorable.latest} (coffer create ... --restore-from ${i.id} --restore-time T)` } : {}),
  ...(i.fault ? { fault: i.fault.message, fault_date: i.fault.created, ...(i.fault.details ? { fault_details: i.fault.details } : {}) } : {}),
  created: i.created,
  updated: i.updated,
})

/** A flavor name becomes its id; an unknown one goes to the API as given, whose 400 says so. */
export async function flavorRef(c: CofferClient, flavor: string): Promise<string> {
  try {
    return await resolveFlavorId(c, flavor)
  } catch (err) {
    if (err instanceof NoSuchResource) return flavor
    throw err
  }
}

/** `u1:p1` → {name, password}; a user with no password is refused here, before any call. */
function parseUser(spec: string, databases: readonly string[]) {
  const at = spec.indexOf(':')
  if (at <= 0 || at === spec.length - 1) throw new Error(`--users takes NAME:PASSWORD pairs; '${spec}' has no password`)
  return { name: spec.slice(0, at), password: spec.slice(at + 1), databases: databases.map((name) => ({ name })) }
}

/**
 * Polls the instance, often at first (a create from a spare is done in tens of milliseconds) and
 * then less (a cold create takes seconds): 20 ms doubling to 500 ms. A dot a second shows progress.
 */
export async function waitFor(client: CofferClient, id: string, until: (i: any | undefined) => boolean, json: boolean): Promise<any> {
  const started = Date.now()
  let last = ''
  let dotAt = started
  for (let pause = 20; ; pause = Math.min(500, pause * 2)) {
    let inst: any
    try {
      inst = (await client.request('GET', `/instances/${id}`)).instance
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err
    }
    const status = inst?.status ?? 'DELETED'
    const restoring = inst?.restore_progress
    if (restoring && !json) process.stderr.write(`\r${id}: ${status}, restored ${(restoring.bytes / 2 ** 20).toFixed(1)} MB at ${restoring.mb_per_s} MB/s   `)
    else if (status !== last && !json) process.stderr.write(`${last ? '\n' : ''}${id}: ${status}`)
    else if (!json && Date.now() - dotAt >= 1000) {
      process.stderr.write('.')
      dotAt = Date.now()
    }
    last = status
    if (until(inst)) {
      if (!json) process.stderr.write(` (${((Date.now() - started) / 1000).toFixed(1)} s)\n`)
      return inst
    }
    await new Promise((r) => setTimeout(r, pause))
  }
}

export function instanceCommands(program: Command, client: () => CofferClient): void {
  program
    .command('create <name> [flavor]')
    .description('Create an instance: e.g. `coffer create db1 m1.tiny --size 1 --datastore postgresql --datastore-version 15 --databases app --users app:Secret-pass-1`')
    .option('--size <gb>', 'volume size in GB (a replica: its source\'s unless given)')
    .option('--replica-of <instance>', 'make a read-only replica of this instance (flavor, size and datastore default to its own)')
    .option('--replica_of <instance>', 'same as --replica-of (trove spelling)')
    .option('--replica-count <n>', 'with --replica-of: how many replicas')
    .option('--replica_count <n>', 'same as --replica-count (trove spelling)')
    .option('--auto-failover', 'the set (this source, or the source of --replica-of) fails over to its most advanced replica by itself when its source is lost')
    .option('--datastore <type>', 'datastore type, e.g. postgresql (default: the server\'s default datastore)')
    .option('--datastore-version <version>', 'datastore version, e.g. 15')
    .option('--datastore_version <version>', 'same as --datastore-version (trove spelling)')
    .option('--configuration <group>', 'configuration group to attach, by name or id')
    .option('--databases <names...>', 'databases to create')
    .option('--users <name:password...>', 'users to create; they get every database in --databases')
    .option('--backup <backup>', 'restore this backup (its whole chain) into the new instance, with its databases and users')
    .option('--restore-from <instance>', 'restore this instance (it may have been deleted) to --restore-time, from its backups and archive')
    .option('--restore-time <time>', 'the point in time to restore to, ISO-8601 (e.g. 2026-11-29T10:00:00Z); with --restore-from or --backup')
    .option('--wait', 'show progress until the instance is ACTIVE (exit 1 if it ends in ERROR)')
    .option('--json', 'print JSON')
    .action(async (name: string, flavor: string | undefined, o: CreateOpts) => {
      const c = client()
      const replicaOf = o.replicaOf ?? o.replica_of
      const replicaCount = o.replicaCount ?? o.replica_count
      if (!replicaOf && (!flavor || !o.size)) throw new Error('create needs a FLAVOR and --size GB (only a replica, --replica-of, takes its source\'s)')
      const databases = o.databases ?? []
      const version = o.datastoreVersion ?? o.datastore_version
      if (o.restoreFrom && !o.restoreTime) throw new Error('--restore-from needs --restore-time (ISO-8601, e.g. 2026-11-29T10:00:00Z)')
      const restoreFrom = o.restoreFrom ? await resolveInstanceId(c, o.restoreFrom).catch(() => o.restoreFrom!) : undefined
      const restorePoint = o.backup || restoreFrom ? { ...(o.backup ? { backupRef: o.backup } : { instanceRef: restoreFrom }), ...(o.restoreTime ? { restoreTime: o.restoreTime } : {}) } : undefined
      const body = {
        instance: {
          name,
          ...(flavor ? { flavorRef: await flavorRef(c, flavor) } : {}),
          ...(o.size ? { volume: { size: Number(o.size) } } : {}),
          ...(replicaOf ? { replica_of: await resolveInstanceId(c, replicaOf) } : {}),
          ...(replicaCount ? { replica_count: Number(replicaCount) } : {}),
          ...(o.autoFailover ? { auto_failover: true } : {}),
          ...(o.datastore || version ? { datastore: { ...(o.datastore ? { type: o.datastore } : {}), ...(version ? { version } : {}) } } : {}),
          ...(o.configuration ? { configuration: await resolveConfigurationId(c, o.configuration) } : {}),
          databases: databases.map((n) => ({ name: n })),
          users: (o.users ?? []).map((u) => parseUser(u, databases)),
          ...(restorePoint ? { restorePoint } : {}),
        },
      }
      let inst = (await c.request('POST', '/instances', body)).instance
      if (o.wait) inst = await waitFor(c, inst.id, (i) => i && i.status !== 'BUILD', !!o.json)
      printObject(o.json ? inst : summary(inst), o)
      if (o.wait && inst.status !== 'ACTIVE') process.exitCode = 1
    })
  program
    .command('list')
    .description('List instances')
    .option('--limit <n>', 'at most this many')
    .option('--marker <id>', 'start after this instance id')
    .option('--json', 'print JSON')
    .action(async (o: Opts & { limit?: string; marker?: string }) => {
      const q = new URLSearchParams({ ...(o.limit ? { limit: o.limit } : {}), ...(o.marker ? { marker: o.marker } : {}) }).toString()
      const { instances } = await client().request('GET', `/instances${q ? `?${q}` : ''}`)
      printList(
        instances,
        [['ID', (i) => i.id], ['Name', (i) => i.name], ['Datastore', (i) => i.datastore.type], ['Version', (i) => i.datastore.version], ['Status', (i) => i.status], ['Role', (i) => (i.replica_of ? `replica of ${i.replica_of.id.slice(0, 8)}` : i.replicas?.length ? `source (${i.replicas.length})` : '')], ['Address', (i) => (i.port ? `${i.ip[0]}:${i.port}` : '')], ['Flavor', (i) => i.flavor.id], ['Size', (i) => i.volume.size]],
        o,
        instances,
      )
    })
  program
    .command('show <instance>')
    .description('Show an instance')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const c = client()
      const { instance } = await c.request('GET', `/instances/${await resolveInstanceId(c, id)}`)
      if (o.json) return printObject(instance, o)
      // The last few events (coffer events INSTANCE has them all).
      const events = ((await c.request('GET', `/instances/${instance.id}/events`).catch(() => undefined))?.events ?? []) as any[]
      printObject({ ...summary(instance), ...(events.length > 0 ? { events: events.slice(0, 3).map((e) => `${e.at} ${e.kind}: ${e.message}`).join('\n') } : {}) }, o)
    })
  program
    .command('delete <instance>')
    .description('Delete an instance, in any state: stops the engine and removes its volume')
    .option('--wait', 'wait until it is gone')
    .action(async (id: string, o: { wait?: boolean }) => {
      const c = client()
      const resolved = await resolveInstanceId(c, id)
      await c.request('DELETE', `/instances/${resolved}`)
      if (o.wait) await waitFor(c, resolved, (i) => i === undefined, false)
      else console.log(`Deleting instance ${resolved}.`)
    })
}
