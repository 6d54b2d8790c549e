/**
 * Real limits from the flavor and the volume, on real PostgreSQL through a real `coffer serve`:
 * a query that allocates past a tiny flavor's memory is stopped inside the instance's cgroup while
 * the node and the other instance go on; writing past a 1 GB volume fails inside the engine and the
 * instance says its volume is full; the volume grows online and keeps its data; a delete leaves no
 * mount, loop device or cgroup. Where the host allows neither (not root), it is skipped.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { pgCreateBody, TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, engineMains, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const root = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')
const skip = root ? false : 'needs root, loop devices and cgroup v1 memory (this host: not root or no cgroups)'

describe('volume and flavor limits', { skip }, () => {
  let coffer: CofferProcess
  let api: TestClient
  const ids: string[] = []
  const get = async (id: string) => (await api.api('GET', `/instances/${id}`)).body.instance
  const connect = (i: any, user: string, password: string) => new pg.Client({ host: i.ip[0], port: i.port, user, password, database: 'shop', connectionTimeoutMillis: 5000 })
  const mountOf = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)

  before(async () => {
    coffer = await startCoffer()
    api = new TestClient(coffer.url)
    assert.equal((await api.login('admin', ADMIN_PASSWORD, 'admin')).status, 201)
    assert.equal((await api.api('POST', '/flavors', { flavor: { id: 'tiny', name: 'tiny', ram: 160, vcpus: 1 } })).status, 200)
    for (const [name, flavor, user] of [['small', 'tiny', 'alice'], ['other', '1', 'bob']] as const) {
      const r = await api.api('POST', '/instances', pgCreateBody(name, { flavorRef: flavor, databases: [{ name: 'shop' }], users: [{ name: user, password: 'Sup3r-secret!', databases: [{ name: 'shop' }] }] }))
      assert.equal(r.status, 200, JSON.stringify(r.body))
      ids.push(r.body.instance.id)
    }
    for (const id of ids) assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
  })
  after(async () => coffer?.destroy())

  it('gives each instance an ext4 volume of its own, mounted nodev,nosuid,noexec, and a cgroup with its flavor', async () => {
    const nodes = (await api.api('GET', '/mgmt/nodes')).body.nodes
    assert.deepEqual(nodes[0].limits, { memory: 'cgroup-v1', cpu: 'cgroup-v1', volume: 'ext4-loop' })
    const volume = join(coffer.home, 'instances', ids[0]!, 'volume')
    const line = mountOf(volume) ?? ''
    assert.match(line, /\/dev\/loop\d+/)
    for (const o of ['nodev', 'nosuid', 'noexec']) assert.match(line.split(' ')[5] ?? '', new RegExp(o))
    assert.ok(!existsSync(join(volume, 'lost+found')))
    const i = await api.waitFor(ids[0]!, (r) => r.body.instance.volume.type === 'ext4-loop')
    assert.equal(i.body.instance.volume.size, 1)
    const cg = `/sys/fs/cgroup/memory/coffer/${ids[0]}`
    assert.equal(Number(readFileSync(join(cg, 'memory.limit_in_bytes'), 'utf8')), 160 * 2 ** 20)
    assert.equal(readFileSync(`/sys/fs/cgroup/cpu/coffer/${ids[0]}/cpu.cfs_quota_us`, 'utf8').trim(), '100000')
    const pids = readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim().split('\n')
    assert.ok(pids.length >= 3, 'the postmaster and its children are in the cgroup')
    assert.ok(pids.some((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres'))
  })

  it('stops a query that allocates past the flavor\'s memory, inside the instance; the node and the other instance go on', async () => {
    const small = await get(ids[0]!)
    const alice = connect(small, 'alice', 'Sup3r-secret!')
    alice.on('error', () => undefined)
    await alice.connect()
    await alice.query("SET work_mem = '1GB'")
    // A sort of ~600 MB held in memory, in an instance limited to 160 MB.
    const stopped = await alice.query("SELECT count(*) FROM (SELECT md5(g::text) || repeat('x', 500) AS s FROM generate_series(1, 1000000) g ORDER BY 1) t").then(() => undefined, (err: Error) => err)
    assert.ok(stopped, 'the query was stopped')
    await alice.end().catch(() => undefined)
    const cg = `/sys/fs/cgroup/memory/coffer/${ids[0]}`
    const read = (f: string) => (existsSync(join(cg, f)) ? readFileSync(join(cg, f), 'utf8') : '')
    const oomKills = Number(/oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1] ?? 0)
    const hits = Number(read('memory.failcnt') || 0) + Number(read('memory.memsw.failcnt') || 0) + oomKills
    assert.ok(hits > 0, `the cgroup hit its limit (the query ended with: ${stopped.message}; max usage ${read('memory.max_usage_in_bytes').trim()})`)

    const bob = connect(await get(ids[1]!), 'bob', 'Sup3r-secret!')
    await bob.connect()
    assert.equal((await bob.query('SELECT 1 AS one')).rows[0].one, 1)
    await bob.end()
    // PostgreSQL restarts its backends after one is killed; the instance answers again.
    const again = await api.waitFor(ids[0]!, (r) => r.body.instance.status === 'ACTIVE')
    let retry: pg.Client
    for (let n = 0; ; n++) {
      retry = connect(again.body.instance, 'alice', 'Sup3r-secret!')
      try {
        await retry.connect()
        break
      } catch (err) {
        if (n > 100) throw err
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    assert.equal((await retry.query('SELECT 2 AS two')).rows[0].two, 2)
    await retry.end()
  })

  it('fails a write past the volume inside the engine, shows the volume full, and the node goes on', async () => {
    const other = await get(ids[1]!)
    const bob = connect(other, 'bob', 'Sup3r-secret!')
    await bob.connect()
    await bob.query('CREATE TABLE kept (v text)')
    await bob.query("INSERT INTO kept VALUES ('still here')")
    // Unlogged: the data files fill the volume, not the write-ahead log.
    await bob.query('CREATE UNLOGGED TABLE filler (v text)')
    let failed: Error | undefined
    for (let n = 0; n < 40 && !failed; n++) {
      try {
        await bob.query("INSERT INTO filler SELECT repeat(md5(random()::text), 60) FROM generate_series(1, 50000)")
      } catch (err) {
        failed = err as Error
      }
    }
    assert.match(failed?.message ?? 'no error', /could not extend file|No space left on device/)
    // The warning begins at 90%: wait for the heartbeat that measured the volume full, not an earlier one.
    const full = await api.waitFor(ids[1]!, (r) => r.body.instance.volume.used_percent > 95, 15_000)
    assert.match(full.body.instance.volume.warning ?? '', /full/)
    assert.equal(full.body.instance.status, 'ACTIVE')
    // The host's own disk is untouched: the node still answers and the other instance still writes.
    assert.equal((await api.api('GET', '/instances')).status, 200)
    const alice = connect(await get(ids[0]!), 'alice', 'Sup3r-secret!')
    await alice.connect()
    await alice.query('CREATE TABLE t (v int)')
    await alice.query('INSERT INTO t VALUES (1)')
    await alice.end()
    await bob.query('DROP TABLE filler')
    await bob.end()
  })

  it('grows the volume online, refusing same or smaller, and keeps the data', async () => {
    const id = ids[1]!
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 1 } } })).status, 400)
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 'big' } } })).status, 400)
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 11 } } })).status, 413)
    const started = Date.now()
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 2 } } })).status, 202)
    assert.equal((await get(id)).status, 'RESIZE')
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 3 } } })).status, 422)
    const done = await api.waitFor(id, (r) => r.body.instance.status !== 'RESIZE', 60_000)
    console.log(`resize-volume 1 -> 2 GB: ${((Date.now() - started) / 1000).toFixed(2)} s`)
    assert.equal(done.body.instance.status, 'ACTIVE', JSON.stringify(done.body.instance.fault))
    assert.equal(done.body.instance.volume.size, 2)
    const fs = statfsSync(join(coffer.home, 'instances', id, 'volume'))
    assert.ok(fs.blocks * fs.bsize > 1.8 * 2 ** 30, 'the file system has the new size')
    const bob = connect(done.body.instance, 'bob', 'Sup3r-secret!')
    await bob.connect()
    assert.deepEqual((await bob.query('SELECT v FROM kept')).rows, [{ v: 'still here' }])
    await bob.end()
  })

  it('resumes a resize cut short by a kill, and remounts volumes after a host restart before engines start', async () => {
    const id = ids[1]!
    assert.equal((await api.api('POST', `/instances/${id}/action`, { resize: { volume: { size: 3 } } })).status, 202)
    await coffer.kill()
    // As after a reboot: the engine is gone and the volume unmounted (its loop device detached).
    const instanceDir = join(coffer.home, 'instances', id)
    const procs = () => readFileSync(`/sys/fs/cgroup/memory/coffer/${id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number)
    for (const pid of procs()) process.kill(pid, 'SIGKILL')
    for (let n = 0; n < 200 && (procs().length > 0 || engineMains(instanceDir).length > 0); n++) await new Promise((r) => setTimeout(r, 50))
    execFileSync('umount', [join(instanceDir, 'volume')])
    await coffer.restart()
    const done = await api.waitFor(id, (r) => r.body.instance.status === 'ACTIVE' && r.body.instance.volume.size === 3, 60_000)
    assert.equal(done.body.instance.volume.size, 3)
    assert.match(mountOf(join(instanceDir, 'volume')) ?? '', /\/dev\/loop\d+/)
    const fs = statfsSync(join(instanceDir, 'volume'))
    assert.ok(fs.blocks * fs.bsize > 2.7 * 2 ** 30, 'the file system has the new size')
    const bob = connect(done.body.instance, 'bob', 'Sup3r-secret!')
    await bob.connect()
    assert.deepEqual((await bob.query('SELECT v FROM kept')).rows, [{ v: 'still here' }])
    await bob.end()
  })

  it('leaves no mount, loop device or cgroup after a delete', async () => {
    for (const id of ids) assert.equal((await api.api('DELETE', `/instances/${id}`)).status, 202)
    for (const id of ids) await api.waitGone(id)
    for (const id of ids) {
      assert.equal(mountOf(join(coffer.home, 'instances', id, 'volume')), undefined)
      assert.equal(execFileSync('losetup', ['-j', join(coffer.home, 'instances', id, 'volume.img')], { encoding: 'utf8' }).trim(), '')
      assert.ok(!existsSync(`/sys/fs/cgroup/memory/coffer/${id}`))
      assert.ok(!existsSync(`/sys/fs/cgroup/cpu/coffer/${id}`))
    }
  })
})
