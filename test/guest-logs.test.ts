/**
 * Trove's guest logs on real engines through a real `coffer serve`: enable, a query, publish, read
 * back, discard, disable (PostgreSQL, MariaDB, Redis); SYS logs stay on; passwords never reach a published copy; Trove's own
 * clients list the logs; another project's instance is not found.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import * as mysql from 'mysql2/promise'
import { Redis } from 'ioredis'
import pg from 'pg'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)
const USER_PASSWORD = 'Alice-Passw0rd-1'

describe('guest logs', () => {
  let coffer: CofferProcess
  let api: TestClient
  let scratch: string
  const ids: Record<string, { id: string; host: string; port: number }> = {}
  const log = async (id: string, body: Record<string, unknown>) => api.api('POST', `/instances/${id}/log`, body)
  const published = async (id: string, name: string) => (await api.api('GET', `/instances/${id}/log/${name}`)).body.log.contents as string
  const statusOf = async (id: string, name: string) => (await log(id, { name })).body.log

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    scratch = mkdtempSync('/tmp/coffer-logs-')
    await Promise.all([
      ...['postgresql', 'mariadb'].map(async (type) => {
        const r = await api.api('POST', '/instances', { instance: { name: `logs-${type}`, flavorRef: '1', volume: { size: 1 }, datastore: { type }, databases: [{ name: 'shop' }], users: [{ name: 'alice', password: USER_PASSWORD, databases: [{ name: 'shop' }] }] } })
        const inst = (await api.waitActive(r.body.instance.id)).body.instance
        assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
        ids[type] = { id: inst.id, host: inst.ip[0] ?? '127.0.0.1', port: inst.port }
      }),
      (async () => {
        const r = await api.api('POST', '/instances', { instance: { name: 'logs-redis', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' }, users: [{ name: 'alice', password: USER_PASSWORD }] } })
        const inst = (await api.waitActive(r.body.instance.id)).body.instance
        assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
        ids.redis = { id: inst.id, host: inst.ip[0] ?? '127.0.0.1', port: inst.port }
      })(),
    ])
  })
  after(async () => {
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  const engines = [
    {
      type: 'postgresql',
      query: async ({ host, port }: { host: string; port: number }, sql: readonly string[], user = 'alice', password = USER_PASSWORD) => {
        const c = new pg.Client({ host, port, user, password, database: user === 'alice' ? 'shop' : 'postgres' })
        await c.connect()
        try {
          for (const s of sql) await c.query(s)
        } finally {
          await c.end()
        }
      },
      sleep: 'SELECT pg_sleep(1.2)',
      newUser: (p: string) => `CREATE ROLE carol LOGIN PASSWORD '${p}'`,
    },
    {
      type: 'mariadb',
      query: async ({ host, port }: { host: string; port: number }, sql: readonly string[], user = 'alice', password = USER_PASSWORD) => {
        const c = await mysql.createConnection({ host, port, user, password, database: 'shop' })
        try {
          for (const s of sql) await c.query(s)
        } finally {
          await c.end()
        }
      },
      sleep: 'SELECT SLEEP(1.2)',
      newUser: (p: string) => `CREATE USER 'carol'@'%' IDENTIFIED BY '${p}'`,
    },
  ]

  for (const e of engines) {
    describe(e.type, () => {
      it('lists general, slow_query and error in Trove\'s shape; a SYS log cannot be turned off', async () => {
        const { id } = ids[e.type]!
        const r = await api.api('GET', `/instances/${id}/log`)
        assert.equal(r.status, 200, JSON.stringify(r.body))
        const byName = Object.fromEntries(r.body.logs.map((l: any) => [l.name, l]))
        assert.deepEqual(Object.keys(byName).sort(), ['error', 'general', 'slow_query'])
        assert.deepEqual(Object.keys(byName.general).sort(), ['container', 'metafile', 'name', 'pending', 'prefix', 'published', 'status', 'type'])
        assert.equal(byName.general.type, 'USER')
        assert.equal(byName.general.status, 'Disabled')
        assert.equal(byName.general.container, 'None')
        assert.equal(byName.error.type, 'SYS')
        assert.equal(byName.general.metafile, `${id}/${e.type}-general_metafile`)
        assert.doesNotMatch(JSON.stringify(r.body), new RegExp(coffer.home), 'no server path in the list')
        const refused = await log(id, { name: 'error', disable: 1 })
        assert.equal(refused.status, 400, JSON.stringify(refused.body))
        assert.equal((await log(id, { name: 'nope' })).status, 404)
        assert.equal((await log(id, { name: 'general', enable: 1, disable: 1 })).status, 400)
      })

      it('enables, publishes, reads, discards and disables; no password reaches a published copy', async () => {
        const { id, host, port } = ids[e.type]!
        const enabled = await log(id, { name: 'general', enable: 1 })
        assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
        // Ready when the file has lines already (Trove's word for "enabled, something to publish").
        assert.match(enabled.body.log.status, /^(Enabled|Ready)$/)
        assert.equal((await log(id, { name: 'slow_query', enable: 1 })).status, 200)
        // A user made through the API, and one a client's root makes in its own session, while the log is on.
        assert.equal((await api.api('POST', `/instances/${id}/users`, { users: [{ name: 'bob', password: 'Bob-Secret-Pw-77', databases: [] }] })).status, 202)
        await e.query({ host, port }, ['SELECT 4242 AS log_marker', e.sleep])
        const root = (await api.api('POST', `/instances/${id}/root`)).body.user
        await e.query({ host, port }, [e.newUser('Own-Secret-Pw-88')], root.name, root.password)

        const pub = await log(id, { name: 'general', publish: 1 })
        assert.equal(pub.status, 200, JSON.stringify(pub.body))
        assert.ok(pub.body.log.published > 0, JSON.stringify(pub.body))
        assert.equal(pub.body.log.container, 'database_logs')
        assert.equal(pub.body.log.prefix, `${id}/${e.type}-general/`)
        const general = await published(id, 'general')
        assert.match(general, /log_marker/)
        assert.doesNotMatch(general, /Own-Secret-Pw-88|Bob-Secret-Pw-77|SCRAM-SHA-256\$/)
        assert.match(general, /'\*\*\*'/, 'the password statement is there, its password taken out')
        // Nor anywhere in the store.
        const store = join(coffer.home, 'logs')
        const files = readdirSync(store, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
        for (const f of files) assert.doesNotMatch(readFileSync(join(f.parentPath, f.name), 'utf8'), /Own-Secret-Pw-88|Bob-Secret-Pw-77/)

        await log(id, { name: 'slow_query', publish: 1 })
        // PostgreSQL gives the statement only once: with the general log on, the slow entry is its duration.
        assert.match(await published(id, 'slow_query'), /SLEEP\(1\.2\)|duration: 1\d{3}\.\d+ ms/i)
        assert.match(await published(id, 'general'), /log_marker/)
        const tail = await api.api('GET', `/instances/${id}/log/general?lines=1`)
        assert.equal(tail.body.log.contents.trimEnd().split('\n').length, 1)

        const discarded = await log(id, { name: 'general', discard: 1 })
        assert.equal(discarded.body.log.published, 0)
        assert.equal(discarded.body.log.container, 'None')
        assert.equal(await published(id, 'general'), '')
        assert.ok(!existsSync(join(store, id, `${e.type}-general`)) || readdirSync(join(store, id, `${e.type}-general`)).length === 0)

        const disabled = await log(id, { name: 'general', disable: 1 })
        assert.equal(disabled.body.log.status, 'Disabled')
        assert.equal((await statusOf(id, 'general')).status, 'Disabled')
        await log(id, { name: 'slow_query', disable: 1 })
      })

      it('publishes the SYS error log', async () => {
        const { id } = ids[e.type]!
        const r = await log(id, { name: 'error', publish: 1 })
        assert.equal(r.status, 200, JSON.stringify(r.body))
        assert.ok(r.body.log.published > 0, JSON.stringify(r.body))
        assert.notEqual(await published(id, 'error'), '')
      })
    })
  }

  describe('redis', () => {
    /** Commands sent as one client, each with its arguments; the answers in order. */
    const redis = async (user: string, password: string, commands: readonly (readonly string[])[]): Promise<unknown[]> => {
      const { host, port } = ids.redis!
      const c = new Redis({ host, port, username: user, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      c.on('error', () => {})
      await c.connect()
      try {
        const out: unknown[] = []
        for (const [name, ...args] of commands) out.push(await c.call(name!, ...args))
        return out
      } finally {
        c.disconnect()
      }
    }

    it('lists slow_query (USER) and error (SYS) in Trove\'s shape; the SYS log cannot be turned off', async () => {
      const { id } = ids.redis!
      const r = await api.api('GET', `/instances/${id}/log`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const byName = Object.fromEntries(r.body.logs.map((l: any) => [l.name, l]))
      assert.deepEqual(Object.keys(byName).sort(), ['error', 'slow_query'])
      assert.deepEqual(Object.keys(byName.slow_query).sort(), ['container', 'metafile', 'name', 'pending', 'prefix', 'published', 'status', 'type'])
      assert.equal(byName.slow_query.type, 'USER')
      assert.equal(byName.slow_query.status, 'Disabled')
      assert.equal(byName.slow_query.metafile, `${id}/redis-slow_query_metafile`)
      assert.equal(byName.error.type, 'SYS')
      assert.doesNotMatch(JSON.stringify(r.body), new RegExp(coffer.home), 'no server path in the list')
      assert.equal((await log(id, { name: 'error', disable: 1 })).status, 400)
      assert.equal((await log(id, { name: 'error', enable: 1 })).status, 400)
      assert.equal((await log(id, { name: 'general' })).status, 404)
    })

    it('enables slow_query (kept over a restart), publishes the commands, passwords out, reads, discards, disables', async () => {
      const { id } = ids.redis!
      const enabled = await log(id, { name: 'slow_query', enable: 1 })
      assert.equal(enabled.status, 200, JSON.stringify(enabled.body))
      assert.match(enabled.body.log.status, /^(Enabled|Ready)$/)
      const root = (await api.api('POST', `/instances/${id}/root`)).body.user
      const threshold = async () => ((await redis(root.name, root.password, [['CONFIG', 'GET', 'slowlog-log-slower-than']]))[0] as string[])[1]
      assert.equal(await threshold(), '10000', 'on at 10 ms, as Redis\'s own default')
      assert.equal((await api.api('POST', `/instances/${id}/action`, { restart: {} })).status, 202)
      assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE')
      assert.equal(await threshold(), '10000', 'the switch is rendered into redis.conf at the start')

      // No command is slow on demand without DEBUG (off for everyone), so the tenant's root lowers its
      // own threshold to 0, as a configuration group could: every command then enters the slow log.
      await redis(root.name, root.password, [
        ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'],
        ['SET', 'log_marker', '4242'],
        ['ACL', 'SETUSER', 'carol', 'on', '>Secret-Pw-99', '~*', '+@read'],
      ])
      await redis('carol', 'Secret-Pw-99', [['GET', 'log_marker']])
      const pub = await log(id, { name: 'slow_query', publish: 1 })
      assert.equal(pub.status, 200, JSON.stringify(pub.body))
      assert.ok(pub.body.log.published > 0, JSON.stringify(pub.body))
      assert.equal(pub.body.log.container, 'database_logs')
      assert.equal(pub.body.log.prefix, `${id}/redis-slow_query/`)
      const first = await published(id, 'slow_query')
      assert.match(first, /duration=\d+us client=\S+ "SET" "log_marker" "4242"/)
      assert.match(first, /"ACL" "SETUSER"/)
      assert.doesNotMatch(first, /Secret-Pw-99|Alice-Passw0rd-1/)
      assert.doesNotMatch(first, new RegExp(coffer.home), 'Coffer\'s own commands (through its socket) are not the tenant\'s log')
      const store = join(coffer.home, 'logs')
      for (const f of readdirSync(store, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())) {
        assert.doesNotMatch(readFileSync(join(f.parentPath, f.name), 'utf8'), /Secret-Pw-99/)
      }

      // Only what is new since the last publish is copied: each command once.
      await redis(root.name, root.password, [['SET', 'second_marker', '1']])
      await log(id, { name: 'slow_query', publish: 1 })
      const both = await published(id, 'slow_query')
      assert.equal(both.match(/"log_marker" "4242"/g)?.length, 1)
      assert.match(both, /second_marker/)
      const tail = await api.api('GET', `/instances/${id}/log/slow_query?lines=1`)
      assert.equal(tail.body.log.contents.trimEnd().split('\n').length, 1)

      const discarded = await log(id, { name: 'slow_query', discard: 1 })
      assert.equal(discarded.body.log.published, 0)
      assert.equal(discarded.body.log.container, 'None')
      assert.equal(await published(id, 'slow_query'), '')
      const disabled = await log(id, { name: 'slow_query', disable: 1 })
      assert.equal(disabled.body.log.status, 'Disabled')
      assert.equal(await threshold(), '-1')
      await redis(root.name, root.password, [['ACL', 'DELUSER', 'carol']])
      assert.equal((await api.api('DELETE', `/instances/${id}/root`)).status, 204)
    })

    it('publishes the SYS error log', async () => {
      const { id } = ids.redis!
      const r = await log(id, { name: 'error', publish: 1 })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.ok(r.body.log.published > 0, JSON.stringify(r.body))
      assert.match(await published(id, 'error'), /Ready to accept connections/)
    })
  })

  it('the coffer CLI lists, shows, tails and saves logs', async () => {
    const env = { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }
    const coffer_ = async (...args: string[]) => (await run(COFFER_BIN, args, { env, timeout: 60_000 })).stdout
    const { id, host, port } = ids.postgresql!
    assert.match(await coffer_('log-list', id), /general.*USER.*\n(.|\n)*error.*SYS/)
    assert.match(await coffer_('log-enable', id, 'general'), /Enabled|Ready|Partial|Published/)
    await engines[0]!.query({ host, port }, ['SELECT 777 AS cli_marker'])
    assert.match(await coffer_('log-tail', id, 'general', '--lines', '20'), /cli_marker/)
    const file = join(scratch, 'general.log')
    assert.match(await coffer_('log-save', id, 'general', '--file', file), /written to/)
    assert.match(readFileSync(file, 'utf8'), /cli_marker/)
    assert.match(await coffer_('log-show', id, 'general'), /Published|Partial/)
    assert.match(await coffer_('log-discard', id, 'general'), /None/)
    assert.match(await coffer_('log-disable', id, 'general'), /Disabled/)
    assert.match(await coffer_('log-tail', '--help'), /--follow/)
  })

  it('trove log-list and openstack database log list print the logs', { skip: !existsSync('/usr/bin/trove') && 'no trove CLI' }, async () => {
    const { id } = ids.mariadb!
    const openrc = readFileSync(join(coffer.home, 'openrc'), 'utf8')
    const vars = Object.fromEntries([...openrc.matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]]))
    const { stdout } = await run('trove', ['log-list', id], { env: { PATH: process.env.PATH, HOME: scratch, ...vars }, timeout: 60_000 })
    // Debian's trove prints bytes as b'...'.
    assert.match(stdout, /general'?\s*\|\s*b?'?USER/)
    assert.match(stdout, /error'?\s*\|\s*b?'?SYS/)
    if (existsSync('/usr/bin/openstack')) {
      const osc = await run('openstack', ['database', 'log', 'list', id, '-f', 'json'], { env: { PATH: process.env.PATH, HOME: scratch, OS_CLIENT_CONFIG_FILE: join(coffer.home, 'clouds.yaml'), OS_CLOUD: 'coffer' }, timeout: 60_000 })
      assert.deepEqual(JSON.parse(osc.stdout).map((l: any) => l.Name).sort(), ['error', 'general', 'slow_query'])
    }
    const onRedis = await run('trove', ['log-list', ids.redis!.id], { env: { PATH: process.env.PATH, HOME: scratch, ...vars }, timeout: 60_000 })
    assert.match(onRedis.stdout, /slow_query'?\s*\|\s*b?'?USER/)
    assert.match(onRedis.stdout, /error'?\s*\|\s*b?'?SYS/)
  })

  it('another project\'s instance is not found', async () => {
    const team = (await api.raw('POST', '/v3/projects', { project: { name: 'other-team' } })).body.project.id
    assert.equal((await api.raw('POST', '/v3/users', { user: { name: 'mallory', password: 'Mallory-Passw0rd', default_project_id: team } })).status, 201)
    const other = new TestClient(coffer.url)
    assert.equal((await other.login('mallory', 'Mallory-Passw0rd', 'other-team')).status, 201)
    const { id } = ids.postgresql!
    assert.equal((await other.api('GET', `/instances/${id}/log`)).status, 404)
    assert.equal((await other.api('POST', `/instances/${id}/log`, { name: 'general', publish: 1 })).status, 404)
    assert.equal((await other.api('GET', `/instances/${id}/log/general`)).status, 404)
  })
})
