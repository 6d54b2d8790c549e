/**
 * Backups that are cut short: the engine's tool killed halfway ends the backup FAILED with nothing
 * stored and the instance ACTIVE; the server SIGKILLed halfway leaves no tool running, and after a
 * restart the backup resumes to COMPLETED (or ends FAILED) with no partial object left behind.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import mysql from 'mysql2/promise'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, type CofferProcess } from './helpers/coffer-process.js'
import { at } from './helpers/engines.js'

const PASSWORD = 'app-Passw0rd'

/** Pids of processes whose command line starts with `name` (the backup tools). */
function processes(name: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]?.endsWith(name) ?? false
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Every file under `dir` (partial files of puts included). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
  } catch {
    return []
  }
}

describe('a backup cut short', () => {
  let coffer: CofferProcess
  let api: TestClient
  let instance: any

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    const r = await api.api('POST', '/instances', {
      instance: { name: 'crash', flavorRef: '2', volume: { size: 2 }, datastore: { type: 'mariadb', version: '10.11' }, databases: [{ name: 'app' }], users: [{ name: 'app', password: PASSWORD, databases: [{ name: 'app' }] }] },
    })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    instance = (await api.waitActive(r.body.instance.id)).body.instance
    assert.equal(instance.status, 'ACTIVE')
    // Enough data (~300 MB that does not compress) that a backup takes a few seconds.
    const w = at(instance) as { host: string; port: number }
    const c = await mysql.createConnection({ host: w.host, port: w.port, user: 'app', password: PASSWORD, database: 'app' })
    await c.query('CREATE TABLE blobs (id int primary key, v longblob)')
    for (let i = 0; i < 300; i++) await c.query('INSERT INTO blobs VALUES (?, ?)', [i, randomBytes(1024 * 1024)])
    await c.end()
  })
  after(async () => {
    await coffer?.destroy()
  })

  const startBackup = async (name: string) => {
    const r = await api.api('POST', '/backups', { backup: { name, instance: instance.id } })
    assert.equal(r.status, 202, JSON.stringify(r.body))
    return r.body.backup.id as string
  }
  const waitForTool = async () => {
    for (let i = 0; i < 200 && processes('mariadb-backup').length === 0; i++) await sleep(25)
    assert.ok(processes('mariadb-backup').length > 0, 'the tool is running')
  }

  it('the tool killed halfway: FAILED, nothing stored, the instance ACTIVE', async () => {
    const id = await startBackup('killed-tool')
    await waitForTool()
    await sleep(300)
    for (const pid of processes('mariadb-backup')) process.kill(pid, 'SIGKILL')
    const b = await api.waitBackup(id)
    assert.equal(b.status, 'FAILED', JSON.stringify(b))
    assert.match(b.status_detail ?? '', /mariadb-backup|ended|signal|SIGKILL/i)
    assert.deepEqual(filesUnder(join(coffer.home, 'objects', 'backups', id)), [], 'no object and no partial file is left')
    assert.equal((await api.waitActive(instance.id)).body.instance.status, 'ACTIVE')
    assert.deepEqual(processes('zstd'), [], 'no compressor is left running')
  })

  it('the server SIGKILLed halfway: no tool left running; after a restart the backup ends and leaves nothing partial', async () => {
    const id = await startBackup('killed-server')
    await waitForTool()
    await sleep(300)
    await coffer.kill('SIGKILL')
    for (let i = 0; i < 100 && processes('mariadb-backup').length + processes('zstd').length > 0; i++) await sleep(100)
    assert.deepEqual([...processes('mariadb-backup'), ...processes('zstd')], [], 'the tools end with the server that read them')
    await coffer.restart()
    await api.login('admin', ADMIN_PASSWORD, 'admin')
    const b = await api.waitBackup(id)
    assert.ok(['COMPLETED', 'FAILED'].includes(b.status), JSON.stringify(b))
    const left = filesUnder(join(coffer.home, 'objects', 'backups', id))
    assert.ok(left.every((f) => !f.includes('.partial-')), `no partial file: ${left.join(', ')}`)
    if (b.status === 'FAILED') assert.deepEqual(left, [])
    else assert.ok(left.length > 0 && b.size > 0, 'a completed backup has its objects')
    assert.equal((await api.waitActive(instance.id)).body.instance.status, 'ACTIVE')
  })

  it('the instance deleted halfway: the backup ends FAILED saying why, nothing stored, no tool left', async () => {
    const id = await startBackup('deleted-instance')
    await waitForTool()
    await sleep(300)
    assert.equal((await api.api('DELETE', `/instances/${instance.id}`)).status, 202)
    const b = await api.waitBackup(id)
    assert.equal(b.status, 'FAILED', JSON.stringify(b))
    assert.match(b.status_detail ?? '', /deleted while it was being backed up/)
    await api.waitGone(instance.id)
    assert.deepEqual(filesUnder(join(coffer.home, 'objects', 'backups', id)), [])
    assert.deepEqual([...processes('mariadb-backup'), ...processes('zstd')], [])
    assert.equal((await api.api('DELETE', `/backups/${id}`)).status, 202, 'a failed backup can be deleted')
  })
})
