/**
 * Instance addresses as other machines see them. A network namespace stands for another host: a
 * veth pair joins it to this one, and Coffer is given an address pool on the host's end
 * (COFFER_INSTANCE_NETWORK=CIDR@IFACE). Each instance's address is added to that interface when it is
 * built, a client inside the namespace reaches the engine at that address on its standard port with
 * the engine's own client, and the address leaves the interface on delete. On loopback, an address
 * something listens on (another program, another home) is never handed out.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { pgCreateBody, type TestClient } from './helpers/api-client.js'
import type { CofferProcess } from './helpers/coffer-process.js'
import { at, redisProbe } from './helpers/engines.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
const quietly = (fn: () => unknown) => {
  try {
    fn()
  } catch {
    // already gone
  }
}

const redisBody = (name: string) => ({
  instance: { name, flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis', version: '7.0' }, users: [{ name: 'app', password: 'app-Passw0rd', databases: [] }] },
})

describe('instance addresses on a real interface, reached from another network namespace', { skip: !isRoot && 'needs root (network namespaces, ip addr)' }, () => {
  const tag = randomBytes(3).toString('hex')
  const ns = `coffer-t-${tag}`
  const host = `ct${tag}h`
  const peer = `ct${tag}n`
  const net = `10.77.${1 + (randomBytes(1)[0]! % 250)}`
  let coffer: CofferProcess | undefined
  let api: TestClient
  const inNs = (cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 20_000 })
  const onHostInterface = () => ip('-4', '-o', 'addr', 'show', 'dev', host)

  before(async () => {
    ip('netns', 'add', ns)
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer)
    ip('link', 'set', peer, 'netns', ns)
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.1/24`, 'dev', peer)
    ip('netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up')
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
    ip('addr', 'add', `${net}.254/24`, 'dev', host)
    ip('link', 'set', host, 'up')
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_INSTANCE_NETWORK: `${net}.0/24@${host}` }))
  })
  after(async () => {
    await coffer?.destroy()
    // Whatever a failed test left on the interface goes with it.
    quietly(() => ip('link', 'del', host))
    quietly(() => ip('netns', 'del', ns))
  })

  it('says where instances get their addresses in serve\'s start-up lines', () => {
    assert.match(coffer!.output(), new RegExp(`each instance gets its own from ${net.replaceAll('.', '\\.')}\\.0/24 on ${host}`))
  })

  it('gives a Redis instance an address on the interface; a client in the other namespace uses it on 6379; delete takes it away', async () => {
    const created = await api.api('POST', '/instances', redisBody('net-redis'))
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const inst = (await api.waitActive(created.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    const address: string = inst.ip[0]
    // .1 answers from the namespace and .254 is the host's own: neither is handed out.
    assert.match(address, new RegExp(`^${net.replaceAll('.', '\\.')}\\.(\\d+)$`))
    assert.ok(![`${net}.1`, `${net}.254`].includes(address), address)
    assert.deepEqual(inst.addresses, [{ address, type: 'private', network: `${net}.0/24`, port: 6379 }])
    assert.match(onHostInterface(), new RegExp(` ${address.replaceAll('.', '\\.')}/24 `))

    const { stdout } = await inNs('redis-cli', '-h', address, '-p', '6379', '--user', 'app', '--pass', 'app-Passw0rd', '--no-auth-warning', 'PING')
    assert.equal(stdout.trim(), 'PONG')

    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
    assert.doesNotMatch(onHostInterface(), new RegExp(` ${address.replaceAll('.', '\\.')}/24 `))
  })

  it('takes access.is_public true at create on a pool on a real interface; a client in the other namespace connects', async () => {
    const body = redisBody('net-public')
    const created = await api.api('POST', '/instances', { instance: { ...body.instance, access: { is_public: true } } })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    const inst = (await api.waitActive(created.body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.deepEqual(inst.access, { is_public: true })
    const { stdout } = await inNs('redis-cli', '-h', inst.ip[0], '-p', '6379', '--user', 'app', '--pass', 'app-Passw0rd', '--no-auth-warning', 'PING')
    assert.equal(stdout.trim(), 'PONG')
    // Only recorded: the address is the same either way, so the engine is not restarted.
    for (const is_public of [false, true]) {
      assert.equal((await api.api('PATCH', `/instances/${inst.id}`, { instance: { access: { is_public } } })).status, 202)
      const shown = (await api.api('GET', `/instances/${inst.id}`)).body.instance
      assert.deepEqual([shown.status, shown.access], ['ACTIVE', { is_public }])
    }
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })

  it('gives PostgreSQL instances their own addresses; psql in the other namespace connects on 5432', { skip: !existsSync('/usr/bin/psql') && 'no psql' }, async () => {
    const body = pgCreateBody('net-pg', { databases: [{ name: 'shop' }], users: [{ name: 'alice', password: 'Sup3r-secret!', databases: [{ name: 'shop' }] }] })
    const a = (await api.waitActive((await api.api('POST', '/instances', body)).body.instance.id)).body.instance
    const b = (await api.waitActive((await api.api('POST', '/instances', pgCreateBody('net-pg-2'))).body.instance.id)).body.instance
    assert.equal(a.status, 'ACTIVE', JSON.stringify(a))
    assert.equal(b.status, 'ACTIVE', JSON.stringify(b))
    assert.notEqual(a.ip[0], b.ip[0], 'each its own address')
    assert.equal(a.port, 5432)
    assert.equal(b.port, 5432)
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'psql', `host=${a.ip[0]} user=alice dbname=shop`, '-tAc', 'SELECT current_database()'], {
      env: { ...process.env, PGPASSWORD: 'Sup3r-secret!', PGCONNECT_TIMEOUT: '5' },
      timeout: 20_000,
    })
    assert.equal(stdout.trim(), 'shop')
    for (const i of [a, b]) assert.equal((await api.api('DELETE', `/instances/${i.id}`)).status, 202)
    for (const i of [a, b]) await api.waitGone(i.id)
    for (const i of [a, b]) assert.doesNotMatch(onHostInterface(), new RegExp(` ${i.ip[0].replaceAll('.', '\\.')}/24 `))
  })
})

describe('loopback addresses in use elsewhere', () => {
  let coffer: CofferProcess | undefined
  let api: TestClient
  const squatters: Server[] = []
  before(async () => {
    // Another program on the pool's first address, on a port no engine uses: the address is taken all the same.
    const squatter = createServer()
    await new Promise<void>((resolve, reject) => squatter.once('error', reject).listen({ host: '127.101.0.1', port: 0 }, resolve))
    squatters.push(squatter)
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_INSTANCE_NETWORK: '127.101.0.0/16' }))
  })
  after(async () => {
    await coffer?.destroy()
    for (const s of squatters) s.close()
  })

  it('never hands out an address something listens on, on any port', async () => {
    const inst = (await api.waitActive((await api.api('POST', '/instances', redisBody('lo-redis'))).body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.deepEqual(inst.ip, ['127.101.0.2'])
    assert.equal(inst.port, 6379)
    assert.ok(await redisProbe.canUse(at(inst), 'app', 'app-Passw0rd'))
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })
})

describe('a pool this host cannot use', () => {
  let coffer: CofferProcess | undefined
  let api: TestClient
  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin({ COFFER_INSTANCE_NETWORK: '10.78.0.0/24@no-such-if0' }))
  })
  after(async () => coffer?.destroy())

  it('falls back to a port each on the API\'s address, and says so at start', async () => {
    assert.match(coffer!.output(), /cannot use 10\.78\.0\.0\/24 on no-such-if0 \((there is no interface no-such-if0|adding addresses to no-such-if0 needs root)\): instances listen on 127\.0\.0\.1, each on its own port/)
    const inst = (await api.waitActive((await api.api('POST', '/instances', redisBody('fallback'))).body.instance.id)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    assert.deepEqual(inst.ip, ['127.0.0.1'])
    assert.notEqual(inst.port, 6379)
    assert.ok(await redisProbe.canUse(at(inst), 'app', 'app-Passw0rd'))
    assert.equal((await api.api('DELETE', `/instances/${inst.id}`)).status, 202)
    await api.waitGone(inst.id)
  })
})
