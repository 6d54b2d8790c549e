/** What the failover tests share: a PostgreSQL set, SQL on a member, and a source's engine killed for good. */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { TestClient } from './api-client.js'
import { processesUnder, type CofferProcess } from './coffer-process.js'

export const PASSWORD = 'app-Passw0rd'

export async function pgClient(inst: { readonly ip: readonly string[]; readonly port: number }): Promise<pg.Client> {
  const c = new pg.Client({ host: inst.ip[0], port: inst.port, user: 'app', password: PASSWORD, database: 'app', connectionTimeoutMillis: 5000 })
  c.on('error', () => undefined)
  await c.connect()
  return c
}

export async function query(inst: { readonly ip: readonly string[]; readonly port: number }, sql: string, params: unknown[] = []): Promise<any[]> {
  const c = await pgClient(inst)
  try {
    return (await c.query(sql, params)).rows
  } finally {
    await c.end()
  }
}

/** A source (PostgreSQL unless `extra` names another datastore) and `replicas` replicas of it, all ACTIVE. */
export async function makeSet(api: TestClient, name: string, replicas: number, extra: Record<string, unknown>): Promise<{ source: any; replicas: any[] }> {
  const settled = async (id: string) => (await api.waitFor(id, (x) => ['ACTIVE', 'ERROR'].includes(x.body?.instance?.status), 180_000)).body.instance
  const a = await api.api('POST', '/instances', {
    instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'postgresql', version: '15' }, databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }], ...extra },
  })
  if (a.status !== 200) throw new Error(JSON.stringify(a.body))
  const source = await settled(a.body.instance.id)
  if (source.status !== 'ACTIVE') throw new Error(JSON.stringify(source))
  const made = await api.api('POST', '/instances', { instance: { name: `${name}-r`, replica_of: source.id, replica_count: replicas } })
  if (made.status !== 200) throw new Error(JSON.stringify(made.body))
  const ids = ((await api.api('GET', '/instances')).body.instances as any[]).filter((i) => i.replica_of?.id === source.id).map((i) => i.id)
  const rs = []
  for (const id of ids) rs.push(await settled(id))
  if (rs.length !== replicas || rs.some((r) => r.status !== 'ACTIVE')) throw new Error(JSON.stringify(rs))
  return { source, replicas: rs }
}

/**
 * Kills every process of the instance's engine and takes its address and port with a listener
 * that drops each connection, so its node's restarts fail: the engine is lost for good. Resolves
 * with the listener (close it to give the port back) and the time of the kill.
 */
export async function loseEngine(coffer: CofferProcess, inst: { readonly id: string; readonly ip: readonly string[]; readonly port: number }): Promise<{ squatter: Server; killedAt: number }> {
  const dir = join(coffer.home, 'instances', inst.id)
  const killedAt = Date.now()
  // Twice: a process forked while the first round killed (a backend for a new client) goes too.
  for (let round = 0; round < 2; round++) {
    for (const pid of processesUnder(dir)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
  }
  const squatter = createServer((s) => s.destroy())
  for (let i = 0; i < 250; i++) {
    const ok = await new Promise<boolean>((resolve) => squatter.once('error', () => resolve(false)).listen(inst.port, inst.ip[0], () => resolve(true)))
    if (ok) break
    await sleep(20)
  }
  return { squatter, killedAt }
}

/** The walreceiver of a PostgreSQL replica (the process that receives its source's WAL). */
export function walReceiver(coffer: CofferProcess, id: string): number {
  const pid = processesUnder(join(coffer.home, 'instances', id)).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('walreceiver')
    } catch {
      return false
    }
  })
  if (pid === undefined) throw new Error(`replica ${id} has no walreceiver`)
  return pid
}
