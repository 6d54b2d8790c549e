/**
 * What an attacker's or a careless client's probe did, each now refused before anything changes:
 * mixed good and bad databases, bad values in a create body, too many items, unprintable names,
 * over-long ids, flavors larger than the node, and host paths in tenants' fault messages.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { pgCreateBody, TestClient, type Reply } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'

const mariadbBody = (name: string, extra: Record<string, unknown> = {}) => ({
  instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'mariadb', version: '10.11' }, ...extra },
})
const redisBody = (name: string, extra: Record<string, unknown> = {}) => ({
  instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, ...extra },
})
const many = (n: number, item: (i: number) => object) => Array.from({ length: n }, (_, i) => item(i))

function assertFault(r: Reply, status: number, fault: string, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body))
  assert.deepEqual(Object.keys(r.body), [fault], JSON.stringify(r.body))
  assert.equal(r.body[fault].code, status)
  assert.match(r.body[fault].message, message)
}

describe('bad input is refused before anything changes', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => coffer?.destroy())

  const noInstances = async () => assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])

  describe('a create body', () => {
    const CASES: [string, unknown, number, string, RegExp][] = [
      ['unknown PostgreSQL encoding', pgCreateBody('x', { databases: [{ name: 'good' }, { name: 'bad', character_set: 'NOSUCH' }] }), 400, 'badRequest', /'bad': postgresql has no character set 'NOSUCH'/],
      ['unknown PostgreSQL locale', pgCreateBody('x', { databases: [{ name: 'bad', collate: 'xx_YY.utf8' }] }), 400, 'badRequest', /'bad': postgresql has no collation 'xx_YY.utf8'/],
      ['unknown MariaDB collation', mariadbBody('x', { databases: [{ name: 'bad', collate: 'nosuch_ci' }] }), 400, 'badRequest', /'bad': mariadb has no collation 'nosuch_ci'/],
      ['MariaDB collation of another set', mariadbBody('x', { databases: [{ name: 'bad', character_set: 'latin1', collate: 'utf8mb4_general_ci' }] }), 400, 'badRequest', /not one of the character set latin1/],
      ['a user host on PostgreSQL', pgCreateBody('x', { users: [{ name: 'u', password: 'p-password', host: '%' }] }), 400, 'badRequest', /have no host/],
      ['a bad MariaDB user host', mariadbBody('x', { users: [{ name: 'u', password: 'p-password', host: "x' OR '1" }] }), 400, 'badRequest', /Host .* is not valid/],
      ['101 databases', pgCreateBody('x', { databases: many(101, (i) => ({ name: `d${i}` })) }), 400, 'badRequest', /at most 100 databases; this one names 101/],
      ['101 users', pgCreateBody('x', { users: many(101, (i) => ({ name: `u${i}`, password: 'p-password' })) }), 400, 'badRequest', /at most 100 users/],
      ['NUL in the instance name', pgCreateBody('a\u0000b'), 400, 'badRequest', /control characters/],
      ['a lone surrogate in the instance name', '{"instance": {"name": "a\\ud800b", "flavorRef": "1", "volume": {"size": 1}, "datastore": {"type": "postgresql"}}}', 400, 'badRequest', /lone surrogate/],
      ['NUL in a database name', pgCreateBody('x', { databases: [{ name: 'a\u0000b' }] }), 400, 'badRequest', /control characters/],
    ]
    for (const [what, body, status, fault, message] of CASES) {
      it(`refuses ${what}`, async () => assertFault(await api.api('POST', '/instances', body), status, fault, message))
    }

    it('refuses invalid UTF-8 in a name', async () => {
      const bytes = Buffer.concat([Buffer.from('{"instance": {"name": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('", "flavorRef": "1", "volume": {"size": 1}, "datastore": {"type": "postgresql"}}}')])
      const res = await fetch(`${coffer.url}/v1.0/${api.projectId}/instances`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-token': api.token }, body: bytes })
      assertFault({ status: res.status, body: await res.json(), headers: res.headers }, 400, 'badRequest', /invalid UTF-8/)
    })

    it('refuses flavors larger than the node, for every engine', async () => {
      const big = await api.api('POST', '/flavors', { flavor: { id: 'huge', name: 'huge', ram: 1024 * 1024, vcpus: 1 } })
      assert.equal(big.status, 200, JSON.stringify(big.body))
      assert.equal(big.body.flavor.id, 'huge', "a flavor's id is shown even when it is not a number")
      const wide = await api.api('POST', '/flavors', { flavor: { id: 'wide', name: 'wide', ram: 512, vcpus: 256 } })
      assert.equal(wide.status, 200)
      for (const body of [pgCreateBody('x', { flavorRef: 'huge' }), mariadbBody('x', { flavorRef: 'huge' }), redisBody('x', { flavorRef: 'huge' }), redisBody('x', { flavorRef: 'wide' })]) {
        assertFault(await api.api('POST', '/instances', body), 413, 'overLimit', /larger than any node can give/)
      }
    })

    it('left no instance behind', noInstances)
  })

  describe('names and ids', () => {
    it('refuses control characters in configuration group and flavor names', async () => {
      const group = await api.api('POST', '/configurations', { configuration: { name: 'g\u0007', values: {}, datastore: { type: 'postgresql' } } })
      assertFault(group, 400, 'badRequest', /configuration group name .* control characters/)
      assertFault(await api.api('POST', '/flavors', { flavor: { name: 'f\u202e', ram: 512, vcpus: 1 } }), 400, 'badRequest', /flavor name .* format characters/)
      assert.deepEqual((await api.api('GET', '/configurations')).body.configurations, [])
    })

    it("answers over-long ids in Trove's fault shape, never Fastify's", async () => {
      for (const id of ['x'.repeat(200), 'x'.repeat(5000)]) {
        const r = await api.api('GET', `/instances/${id}`)
        assertFault(r, 404, 'itemNotFound', /./)
        assert.doesNotMatch(JSON.stringify(r.body), /FST_/)
      }
      assertFault(await api.api('GET', '/instances/%E0%A4%A'), 400, 'badRequest', /URL is not valid/)
    })
  })

  describe('on a MariaDB instance', () => {
    let id = ''
    const path = (p: string) => `/instances/${id}${p}`
    const names = async () => (await api.api('GET', path('/databases'))).body.databases.map((d: { name: string }) => d.name)
    before(async () => {
      const created = await api.api('POST', '/instances', mariadbBody('charsets'))
      assert.equal(created.status, 200, JSON.stringify(created.body))
      id = created.body.instance.id
      assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
    })

    it('refuses one bad database among good ones and creates none', async () => {
      const unknown = await api.api('POST', path('/databases'), { databases: [{ name: 'good' }, { name: 'bad', character_set: 'nosuch' }] })
      assertFault(unknown, 400, 'badRequest', /'bad': mariadb has no character set 'nosuch'/)
      const mismatch = await api.api('POST', path('/databases'), { databases: [{ name: 'good' }, { name: 'bad', character_set: 'latin1', collate: 'utf8mb4_bin' }] })
      assertFault(mismatch, 400, 'badRequest', /'bad'.*not one of the character set latin1/)
      assert.deepEqual(await names(), [])
    })

    it('creates databases with a character set and collation the engine has', async () => {
      const r = await api.api('POST', path('/databases'), { databases: [{ name: 'sv', character_set: 'latin1', collate: 'latin1_swedish_ci' }, { name: 'old', character_set: 'utf8' }] })
      assert.equal(r.status, 202, JSON.stringify(r.body))
      const sv = (await api.api('GET', path('/databases'))).body.databases.find((d: { name: string }) => d.name === 'sv')
      assert.equal(sv.collate, 'latin1_swedish_ci')
    })

    it('caps users and databases at 100 a request', async () => {
      assertFault(await api.api('POST', path('/users'), { users: many(101, (i) => ({ name: `u${i}`, password: 'p-password' })) }), 400, 'badRequest', /at most 100 users/)
      assertFault(await api.api('POST', path('/databases'), { databases: many(101, (i) => ({ name: `d${i}` })) }), 400, 'badRequest', /at most 100 databases/)
      assert.deepEqual((await api.api('GET', path('/users'))).body.users, [])
      assert.deepEqual(await names(), ['old', 'sv'])
    })

    it('goes on with a retried request that got part-way, and still refuses a plain duplicate', async () => {
      // What a crash after the first item leaves: `p1` made, `p2` not.
      assert.equal((await api.api('POST', path('/databases'), { databases: [{ name: 'p1' }] })).status, 202)
      assert.equal((await api.api('POST', path('/users'), { users: [{ name: 'r1', password: 'p-password' }] })).status, 202)
      assert.equal((await api.api('POST', path('/databases'), { databases: [{ name: 'p1' }, { name: 'p2' }] })).status, 202)
      assert.equal((await api.api('POST', path('/users'), { users: [{ name: 'r1', password: 'p-password', databases: [{ name: 'p1' }] }, { name: 'r2', password: 'p-password' }] })).status, 202)
      assert.deepEqual(await names(), ['old', 'p1', 'p2', 'sv'])
      assert.deepEqual((await api.api('GET', path('/users'))).body.users.map((u: { name: string }) => u.name).sort(), ['r1', 'r2'])
      assertFault(await api.api('POST', path('/databases'), { databases: [{ name: 'p1' }] }), 400, 'badRequest', /"p1" already exists/)
      assertFault(await api.api('POST', path('/databases'), { databases: [{ name: 'sv', character_set: 'utf8mb4' }, { name: 'p3' }] }), 400, 'badRequest', /"sv" already exists/)
      assert.ok(!(await names()).includes('p3'))
    })

    after(async () => {
      if (id) await api.api('DELETE', `/instances/${id}`)
    })
  })

  describe('on a PostgreSQL instance', () => {
    let id = ''
    const path = (p: string) => `/instances/${id}${p}`
    before(async () => {
      const created = await api.api('POST', '/instances', pgCreateBody('encodings'))
      assert.equal(created.status, 200, JSON.stringify(created.body))
      id = created.body.instance.id
      assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
    })

    it('checks encodings and locales against the engine and creates all or none', async () => {
      const bad = await api.api('POST', path('/databases'), { databases: [{ name: 'good' }, { name: 'bad', character_set: 'UTF8', collate: 'C.latin9' }] })
      assertFault(bad, 400, 'badRequest', /'bad': postgresql has no collation 'C.latin9'/)
      assert.deepEqual((await api.api('GET', path('/databases'))).body.databases, [])
      const ok = await api.api('POST', path('/databases'), { databases: [{ name: 'l1', character_set: 'LATIN1' }, { name: 'u8', character_set: 'utf-8', collate: 'C.UTF-8' }] })
      assert.equal(ok.status, 202, JSON.stringify(ok.body))
      const dbs = (await api.api('GET', path('/databases'))).body.databases
      assert.deepEqual(dbs.map((d: { name: string; character_set: string }) => [d.name, d.character_set]), [['l1', 'LATIN1'], ['u8', 'UTF8']])
    })

    after(async () => {
      if (id) await api.api('DELETE', `/instances/${id}`)
    })
  })

  describe('fault messages', () => {
    it('show tenants no host paths; administrators see the details', async () => {
      const project = await api.raw('POST', '/v3/projects', { project: { name: 'tenant-f' } })
      await api.raw('POST', '/v3/users', { user: { name: 'fay', password: 'fay-password', default_project_id: project.body.project.id } })
      const fay = new TestClient(coffer.url)
      assert.equal((await fay.login('fay', 'fay-password', 'tenant-f')).status, 201)
      const created = await fay.api('POST', '/instances', redisBody('doomed'))
      assert.equal(created.status, 200, JSON.stringify(created.body))
      const id = created.body.instance.id
      assert.equal((await fay.waitActive(id)).body.instance.status, 'ACTIVE')
      // A file the delete cannot remove (immutable even to root): the delete fails with the file's path.
      // Beside the volume, not in it: a loop-mounted volume goes with its image, whatever it holds.
      const pinned = join(coffer.home, 'instances', id, 'pinned')
      writeFileSync(pinned, '')
      execFileSync('chattr', ['+i', pinned])
      try {
        assert.equal((await fay.api('DELETE', `/instances/${id}`)).status, 202)
        const failed = (await fay.waitFor(id, (r) => r.body?.instance?.status === 'ERROR', 60_000)).body.instance
        assert.ok(failed.fault.message, JSON.stringify(failed))
        assert.doesNotMatch(failed.fault.message, /\/[\w.-]+\//, 'no host path in what the tenant sees')
        assert.equal(failed.fault.details, undefined, 'details are for administrators')
        const seen = (await api.raw('GET', `/v1.0/${fay.projectId}/instances/${id}`)).body.instance
        assert.match(seen.fault.details, /pinned/, JSON.stringify(seen.fault))
      } finally {
        execFileSync('chattr', ['-i', pinned])
      }
      assert.equal((await fay.api('DELETE', `/instances/${id}`)).status, 202)
      await fay.waitGone(id)
    })
  })
})
