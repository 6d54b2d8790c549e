/**
 * Bad input gets a clear 4xx in Trove's fault shape and changes nothing: no instance, task, process
 * or folder is left behind.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { pgCreateBody, TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, processesUnder, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const inst = (patch: Record<string, unknown>) => ({ instance: { ...pgCreateBody('bad').instance, ...patch } })

const CASES: [string, unknown, number, string, RegExp][] = [
  ['unknown flavor', inst({ flavorRef: 'no-such-flavor' }), 400, 'badRequest', /no-such-flavor cannot be found/],
  ['missing flavor', inst({ flavorRef: undefined }), 400, 'badRequest', /flavorRef/],
  ['unknown datastore', inst({ datastore: { type: 'nosuchds' } }), 404, 'itemNotFound', /Datastore 'nosuchds' cannot be found/],
  ['unknown version', inst({ datastore: { type: 'postgresql', version: '7.4' } }), 404, 'itemNotFound', /version '7.4'/],
  ['volume size 0', inst({ volume: { size: 0 } }), 400, 'badRequest', /volume'\]\['size'\].*at least 1/],
  ['negative volume size', inst({ volume: { size: -3 } }), 400, 'badRequest', /size/],
  ['missing volume', inst({ volume: undefined }), 400, 'badRequest', /volume/],
  ['fractional volume', inst({ volume: { size: 1.5 } }), 400, 'badRequest', /whole number/],
  ['volume over the limit', inst({ volume: { size: 1000 } }), 413, 'overLimit', /largest allowed/],
  ['empty name', inst({ name: '' }), 400, 'badRequest', /name/],
  ['name with control characters', inst({ name: 'a\u0007b' }), 400, 'badRequest', /printable/],
  ['user without password', inst({ databases: [{ name: 'd' }], users: [{ name: 'u1', databases: [] }] }), 400, 'badRequest', /password/],
  ['user with empty password', inst({ users: [{ name: 'u1', password: '' }] }), 400, 'badRequest', /needs a password/],
  ['injection in a database name', inst({ databases: [{ name: "a'; DROP DATABASE x; --" }] }), 400, 'badRequest', /database name/],
  ['backticks in a user name', inst({ users: [{ name: 'a`b', password: 'p' }] }), 400, 'badRequest', /user name/],
  ['reserved database', inst({ databases: [{ name: 'postgres' }] }), 400, 'badRequest', /reserved/],
  ['reserved user', inst({ users: [{ name: 'coffer_admin', password: 'x' }] }), 400, 'badRequest', /reserved/],
  ['user granted an unlisted database', inst({ users: [{ name: 'u', password: 'u-password', databases: [{ name: 'nope' }] }] }), 400, 'badRequest', /not in the request/],
  ['user with a weak password', inst({ users: [{ name: 'u1', password: 'short' }] }), 400, 'badRequest', /too short: passwords must have at least 8 characters/],
  ['empty object', {}, 400, 'badRequest', /instance/],
  ['malformed JSON', '{"instance": {"name": "x",', 400, 'badRequest', /Malformed request body/],
  ['oversized body', { instance: { name: 'x'.repeat(300 * 1024) } }, 413, 'overLimit', /./],
  ['a replica of an unknown instance', inst({ replica_of: 'abc' }), 404, 'itemNotFound', /Resource abc cannot be found/],
  ['a replica_of that is not an id', inst({ replica_of: 5 }), 400, 'badRequest', /replica_of/],
  ['too many replicas', inst({ replica_of: 'abc', replica_count: 9 }), 400, 'badRequest', /replica_count must be a whole number from 1 to 5/],
]

describe('bad input to instance create', () => {
  let coffer: CofferProcess
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
  })
  after(async () => coffer?.destroy())

  for (const [what, body, status, fault, message] of CASES) {
    it(`${what}: ${status} ${fault}`, async () => {
      const r = await api.api('POST', '/instances', body)
      assert.equal(r.status, status, JSON.stringify(r.body))
      assert.deepEqual(Object.keys(r.body), [fault])
      assert.equal(r.body[fault].code, status)
      assert.match(r.body[fault].message, message)
    })
  }

  it('left nothing behind', async () => {
    assert.deepEqual((await api.api('GET', '/instances')).body.instances, [])
    const dir = join(coffer.home, 'instances')
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [])
    assert.deepEqual(processesUnder(dir), [])
  })

  it('answers unknown instances and flavors with itemNotFound', async () => {
    const r = await api.api('GET', '/instances/03668c88-fa6c-4286-ba12-73f9da4dd73f')
    assert.equal(r.status, 404)
    assert.match(r.body.itemNotFound.message, /03668c88-fa6c-4286-ba12-73f9da4dd73f cannot be found/)
    assert.equal((await api.api('GET', '/flavors/999999')).status, 404)
    assert.equal((await api.api('DELETE', '/instances/03668c88-fa6c-4286-ba12-73f9da4dd73f')).status, 404)
  })
})

describe('identity', () => {
  let coffer: CofferProcess
  before(async () => {
    coffer = await startCoffer()
  })
  after(async () => coffer?.destroy())

  it('answers 401 to a wrong password and to calls without a valid token', async () => {
    const api = new TestClient(coffer.url)
    const bad = await api.login('admin', 'wrong', 'admin')
    assert.equal(bad.status, 401)
    assert.equal(bad.body.error.code, 401, 'Keystone error shape on /v3')
    assert.equal((await api.raw('GET', '/v1.0/whatever/instances')).status, 401)
    assert.equal((await api.raw('GET', '/v1.0/whatever/instances', undefined, { 'x-auth-token': 'forged' })).status, 401)
  })

  it('issues a token with a database endpoint and validates it', async () => {
    const api = new TestClient(coffer.url)
    const r = await api.login('admin', ADMIN_PASSWORD, 'admin')
    assert.equal(r.status, 201)
    assert.ok(api.token.length >= 32)
    const db = r.body.token.catalog.find((s: any) => s.type === 'database')
    assert.equal(db.endpoints.find((e: any) => e.interface === 'public').url, `${coffer.url}/v1.0/${api.projectId}`)
    assert.ok(Date.parse(r.body.token.expires_at) > Date.now())
    const v = await api.raw('GET', '/v3/auth/tokens', undefined, { 'x-subject-token': api.token })
    assert.equal(v.status, 200)
    assert.equal(v.body.token.project.name, 'admin')
    assert.equal((await api.raw('DELETE', '/v3/auth/tokens', undefined, { 'x-subject-token': api.token })).status, 204)
    assert.equal((await api.api('GET', '/flavors')).status, 401, 'a revoked token stops working')
  })

  it('keeps projects apart: another project\'s user sees none of admin\'s resources', async () => {
    const admin = new TestClient(coffer.url)
    await admin.login('admin', ADMIN_PASSWORD, 'admin')
    const project = await admin.raw('POST', '/v3/projects', { project: { name: 'team-a' } })
    assert.equal(project.status, 201)
    const user = await admin.raw('POST', '/v3/users', { user: { name: 'ann', password: 'ann-password', default_project_id: project.body.project.id } })
    assert.equal(user.status, 201)

    const ann = new TestClient(coffer.url)
    assert.equal((await ann.login('ann', 'ann-password', 'team-a')).status, 201)
    assert.equal((await ann.api('GET', '/instances')).status, 200)
    const other = await ann.raw('GET', `/v1.0/${admin.projectId}/instances`)
    assert.equal(other.status, 403)
    assert.match(other.body.forbidden.message, /cannot access this resource/)
    assert.equal((await ann.raw('POST', '/v3/projects', { project: { name: 'mine' } })).status, 403, 'admin-only')
    assert.equal((await ann.login('ann', 'ann-password', 'admin')).status, 401, 'no role on admin')
  })

  it('lets admins add flavors, and only admins', async () => {
    const admin = new TestClient(coffer.url)
    await admin.login('admin', ADMIN_PASSWORD, 'admin')
    const made = await admin.api('POST', '/flavors', { flavor: { name: 'custom.big', ram: 3072, vcpus: 2 } })
    assert.equal(made.status, 200, JSON.stringify(made.body))
    assert.equal(made.body.flavor.ram, 3072)
    assert.equal((await admin.api('POST', '/flavors', { flavor: { name: 'custom.big', ram: 3072, vcpus: 2 } })).status, 409)
    assert.equal((await admin.api('POST', '/flavors', { flavor: { name: 'tiny', ram: 1, vcpus: 1 } })).status, 400)
    const ann = new TestClient(coffer.url)
    await ann.login('ann', 'ann-password', 'team-a')
    assert.equal((await ann.api('POST', '/flavors', { flavor: { name: 'mine', ram: 1024, vcpus: 1 } })).status, 403)
    assert.equal((await admin.api('DELETE', `/flavors/${made.body.flavor.str_id}`)).status, 202)
  })

  it('writes credentials files that only their owner can read', async () => {
    const { statSync } = await import('node:fs')
    for (const f of ['openrc', 'clouds.yaml']) assert.equal(statSync(join(coffer.home, f)).mode & 0o077, 0, f)
  })
})
