/**
 * The one suite every datastore runs against its real engine, through the guest API only (Hono's
 * shared runtime tests): lifecycle, idempotent prepare, users, databases and root where the parts
 * exist, a live configuration change that survives a restart, and typed errors. What a datastore
 * lacks is skipped with a written reason: from its capabilities, or from the caller's `skip`.
 * Engine-specific tests (hardening, hostile names, figures) stay in each engine's own test file.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { capabilitiesOf, type Capability } from '../../src/core/manifest.js'
import type { Datastore, InstanceContext, PrepareSpec } from '../../src/guest/datastores/datastore.js'
import type { ConfigurationProbe, EngineProbe } from '../helpers/engines.js'
import { type GuestHome, makeGuestHome } from '../helpers/guest-context.js'

export interface SuiteSkip {
  readonly reason: string
  /** Test names as the suite gives them, e.g. 'users > create, list and delete'. */
  readonly tests: readonly string[]
}

export interface DatastoreSuiteOptions {
  readonly datastore: Datastore
  /** Logs in to the engine as a client would. */
  readonly probe: EngineProbe
  /** A parameter the engine takes live, and how to read it back; required when the datastore has configuration. */
  readonly configuration?: ConfigurationProbe
  /** The version to run (its `name`); the newest found when absent. */
  readonly version?: string
  /**
   * Why the suite cannot run when the node has no version of this datastore. Absent: a missing
   * engine fails the suite, so an engine that should be there is never skipped silently.
   */
  readonly unavailable?: string
  /** Makes the instance's next start fail on its configuration; engine-specific, so the caller's. */
  readonly breakConfiguration?: (ctx: InstanceContext) => Promise<void>
  /** Undoes breakConfiguration. */
  readonly repairConfiguration?: (ctx: InstanceContext) => Promise<void>
  /** What a leftover engine is stopped with first by the clean-up. Default SIGTERM. */
  readonly stopSignal?: NodeJS.Signals
  readonly skip?: readonly SuiteSkip[]
}

const USER = 'suite_user'
const PASSWORD = "it's a suite pw 1"
const DATABASE = 'suite_db'

/** Which capability each test needs; a test not listed needs only the engine lifecycle. */
const NEEDS: Readonly<Record<string, Capability>> = {
  'users > a prepared user logs in over TCP': 'users',
  'users > create, list and delete': 'users',
  'databases > create, list and delete': 'databases',
  'root > enable gives a superuser, disable takes it away': 'root',
  'configuration > the catalog offers the live parameter': 'configuration',
  'configuration > a live parameter is applied at once': 'configuration',
  'configuration > applied values survive a restart, and {} takes them back': 'configuration',
}

/** Runs the shared suite for one datastore; call it at the top level of a test file. */
export function runDatastoreSuite(name: string, o: DatastoreSuiteOptions): void {
  describe(`datastore suite: ${name}`, async () => {
    const ds = o.datastore
    const manifest = await ds.discover()
    const version = o.version ? manifest.versions.find((v) => v.name === o.version) : manifest.versions[0]
    if (!version && o.unavailable) {
      it('runs against a real engine', { skip: o.unavailable }, () => {})
      return
    }
    const caps = manifest.capabilities
    const skipOf = (test: string): string | undefined => {
      const need = NEEDS[test]
      if (need && !caps[need]) return `${name} has no ${need} (its manifest says so)`
      if (need === 'configuration' && !test.includes('catalog') && !caps.root) return `${name} has no root to read its settings back with`
      return o.skip?.find((s) => s.tests.includes(test))?.reason
    }
    /** `it`, skipped with its written reason when the datastore lacks what the test needs. */
    const test = (title: string, fn: () => Promise<void>): void => {
      const reason = skipOf(title)
      it(title, reason ? { skip: reason } : {}, fn)
    }

    let guest: GuestHome | undefined
    let ctx: InstanceContext
    let made = 1
    const newContext = (label: string): Promise<InstanceContext> => {
      assert.ok(guest)
      return guest.newContext(label, `00000000-0000-4000-8000-${String(++made).padStart(12, '0')}`)
    }
    const spec: PrepareSpec = {
      databases: caps.databases ? [{ name: DATABASE }] : [],
      users: caps.users ? [{ name: USER, password: PASSWORD, databases: caps.databases ? [{ name: DATABASE }] : [] }] : [],
    }
    const database = caps.databases ? DATABASE : undefined
    /** A superuser for reading settings back; enabled on demand, disabled by the root test. */
    let superuser: { name: string; password: string } | undefined
    const asSuperuser = async (): Promise<{ name: string; password: string }> => {
      assert.ok(ds.root, 'reading settings back needs root')
      superuser ??= { password: 'suite-root-pw', ...(await ds.root.enable(ctx, 'suite-root-pw')) }
      return superuser
    }

    before(async () => {
      assert.ok(version, `${name} is installed (found ${JSON.stringify(manifest.versions)})`)
      guest = await makeGuestHome(ds, version, { label: `suite-${name}`, instanceId: '00000000-0000-4000-8000-000000000001', ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}) })
      ctx = guest.ctx
    })
    // Whatever failed, leave no engine and no folder behind.
    after(() => guest?.cleanup())

    test('manifest > advertises exactly what its parts provide', async () => {
      assert.equal(manifest.name, name)
      assert.deepEqual(caps, capabilitiesOf(ds))
      assert.ok(manifest.defaultPort > 0)
      assert.match(version?.versionNumber ?? '', /^\d+(\.\d+)+$/)
    })

    test('lifecycle > prepare starts a healthy engine', async () => {
      await ds.engine.prepare(ctx, spec)
      const s = await ds.engine.status(ctx)
      assert.equal(s.state, 'running', JSON.stringify(s))
      assert.equal(s.healthy, true, JSON.stringify(s))
    })

    test('users > a prepared user logs in over TCP', async () => {
      assert.equal(await o.probe.canUse(ctx.port, USER, PASSWORD, database), true)
      assert.equal(await o.probe.canUse(ctx.port, USER, 'wrong password', database), false)
    })

    test('lifecycle > prepare again changes nothing and duplicates nothing', async () => {
      const users = await ds.users?.list(ctx)
      const databases = await ds.databases?.list(ctx)
      await ds.engine.prepare(ctx, spec)
      assert.deepEqual(await ds.users?.list(ctx), users)
      assert.deepEqual(await ds.databases?.list(ctx), databases)
      assert.equal((await ds.engine.status(ctx)).healthy, true)
    })

    test('databases > create, list and delete', async () => {
      const admin = ds.databases
      assert.ok(admin)
      await admin.create(ctx, [{ name: 'suite_extra' }])
      await admin.create(ctx, [{ name: 'suite_extra' }]) // exists: left as it is
      assert.deepEqual((await admin.list(ctx)).map((d) => d.name).sort(), [DATABASE, 'suite_extra'])
      await admin.delete(ctx, 'suite_extra')
      await admin.delete(ctx, 'suite_extra') // gone: no-op
      assert.deepEqual((await admin.list(ctx)).map((d) => d.name), [DATABASE])
    })

    test('users > create, list and delete', async () => {
      const admin = ds.users
      assert.ok(admin)
      const grants = caps.databases ? [{ name: DATABASE }] : []
      await admin.create(ctx, [{ name: 'suite_other', password: 'other pw 2', databases: grants }])
      assert.equal(await o.probe.canUse(ctx.port, 'suite_other', 'other pw 2', database), true)
      assert.deepEqual((await admin.list(ctx)).map((u) => u.name).sort(), ['suite_other', USER])
      await admin.delete(ctx, { name: 'suite_other' })
      await admin.delete(ctx, { name: 'suite_other' }) // gone: no-op
      assert.equal(await o.probe.canUse(ctx.port, 'suite_other', 'other pw 2', database), false)
      assert.deepEqual((await admin.list(ctx)).map((u) => u.name), [USER])
    })

    test('configuration > the catalog offers the live parameter', async () => {
      assert.ok(ds.configuration && o.configuration, 'a datastore with configuration needs a ConfigurationProbe')
      const catalog = await ds.configuration.catalog({ cacheDir: ctx.cacheDir, account: ctx.nodeAccount, version: ctx.version })
      assert.ok(catalog.some((p) => p.name === o.configuration?.live.name), `${o.configuration.live.name} is in the catalog`)
    })

    test('configuration > a live parameter is applied at once', async () => {
      assert.ok(ds.configuration && o.configuration)
      const { live, read } = o.configuration
      const root = await asSuperuser()
      const result = await ds.configuration.apply(ctx, { [live.name]: live.first })
      assert.deepEqual(result.restartRequired, [])
      assert.equal(await read(ctx.port, root.name, root.password, live.name), live.firstRead)
      assert.equal(ds.engine.effectiveConfiguration(ctx)[live.name], live.first)
    })

    test('lifecycle > stop, status stopped, start again, healthy, data kept', async () => {
      const running = await ds.engine.status(ctx)
      await ds.engine.stop(ctx)
      await ds.engine.stop(ctx) // stopped: no-op
      assert.equal((await ds.engine.status(ctx)).state, 'stopped')
      assert.equal(await o.probe.canUse(ctx.port, USER, PASSWORD, database), false)
      await ds.engine.start(ctx)
      await ds.engine.start(ctx) // running: no-op
      const s = await ds.engine.status(ctx)
      assert.equal(s.healthy, true, JSON.stringify(s))
      assert.notEqual(s.pid, running.pid, 'a new engine process')
      if (caps.users) assert.equal(await o.probe.canUse(ctx.port, USER, PASSWORD, database), true)
    })

    test('configuration > applied values survive a restart, and {} takes them back', async () => {
      assert.ok(ds.configuration && o.configuration)
      const { live, read } = o.configuration
      const root = await asSuperuser()
      assert.equal(await read(ctx.port, root.name, root.password, live.name), live.firstRead, 'kept across the restart')
      await ds.configuration.apply(ctx, {})
      assert.notEqual(await read(ctx.port, root.name, root.password, live.name), live.firstRead)
      assert.equal(ds.engine.effectiveConfiguration(ctx)[live.name] === live.first, false)
    })

    test('root > enable gives a superuser, disable takes it away', async () => {
      assert.ok(ds.root)
      const root = await asSuperuser()
      assert.equal(await o.probe.isSuperuser(ctx.port, root.name, root.password), true)
      await ds.root.disable(ctx)
      await ds.root.disable(ctx) // disabled: no-op
      superuser = undefined
      assert.equal(await o.probe.isSuperuser(ctx.port, root.name, root.password), false)
    })

    test('errors > a taken port fails the start with PORT_IN_USE, not retryable, the log in details only', async () => {
      await ds.engine.stop(ctx)
      const squatter = await listen(ctx.port)
      try {
        await assert.rejects(ds.engine.start(ctx), (err: { code?: string; retryable?: boolean; message: string; details?: string }) => {
          assert.equal(err.code, 'PORT_IN_USE', `${err.message}\n${err.details ?? ''}`)
          assert.equal(err.retryable, false)
          assert.ok((err.details ?? '').length > 0, 'the engine log is in details')
          assert.doesNotMatch(err.message, /\n|\//, 'no log lines or paths in the message')
          return true
        })
      } finally {
        await new Promise((resolve) => squatter.close(resolve))
      }
      await ds.engine.start(ctx)
      assert.equal((await ds.engine.status(ctx)).healthy, true)
    })

    test('errors > a configuration the engine refuses fails the start with ENGINE_CONFIG_INVALID, not retryable', async () => {
      assert.ok(o.breakConfiguration && o.repairConfiguration, 'breakConfiguration and repairConfiguration, or a written skip')
      await ds.engine.stop(ctx)
      await o.breakConfiguration(ctx)
      try {
        await assert.rejects(ds.engine.start(ctx), (err: { code?: string; retryable?: boolean; message: string; details?: string }) => {
          assert.equal(err.code, 'ENGINE_CONFIG_INVALID', `${err.message}\n${err.details ?? ''}`)
          assert.equal(err.retryable, false)
          assert.match(err.message, /exited while starting/)
          return true
        })
      } finally {
        await o.repairConfiguration(ctx)
      }
      await ds.engine.start(ctx)
      assert.equal((await ds.engine.status(ctx)).healthy, true)
    })

    test('errors > start before prepare fails with a typed error that retrying cannot fix', async () => {
      const fresh = await newContext('unprepared')
      await assert.rejects(ds.engine.start(fresh), { code: 'ENGINE_NOT_PREPARED', retryable: false })
      assert.equal((await ds.engine.status(fresh)).state, 'stopped')
    })

    test('lifecycle > stop for good', async () => {
      await ds.engine.stop(ctx)
      assert.equal((await ds.engine.status(ctx)).state, 'stopped')
    })
  })
}

/** Listens on the port of 127.0.0.1, as another program taking the instance's port would. */
function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject)
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
}
