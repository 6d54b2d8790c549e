/**
 * The one suite every ComputeDriver runs: envelopes made, found and destroyed idempotently, paths
 * that stay under the driver's root, volume use reported, the instance's account gone with its
 * envelope, and folders only their owner may enter. What a driver cannot offer is skipped with a
 * written reason (`skip`).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { lstat, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { relative, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { ComputeDriver, Envelope } from '../../src/compute/compute-driver.js'
import type { SuiteSkip } from './datastore-suite.js'

export interface ComputeDriverUnderTest {
  readonly driver: ComputeDriver
  /** The folder every envelope and the cache must stay under. */
  readonly root: string
  /** Removes what the driver made that envelopes do not own (the root itself). */
  cleanup(): Promise<void>
}

export interface ComputeDriverSuiteOptions {
  /** A driver over a fresh, empty place. */
  make(): Promise<ComputeDriverUnderTest>
  /** An address `addressIsFree` looks at. */
  readonly bindAddress: string
  readonly skip?: readonly SuiteSkip[]
}

const isRoot = process.getuid?.() === 0

/** True when `account` may list the folder (or read the file) at `path`, as the kernel decides for that uid. */
function canRead(account: string, path: string): boolean {
  const r = spawnSync('su', ['-s', '/bin/sh', account, '-c', 'test -r "$1" && { test ! -d "$1" || test -x "$1"; }', 'sh', path])
  return r.status === 0
}

const passwdHas = async (name: string): Promise<boolean> => (await readFile('/etc/passwd', 'utf8')).split('\n').some((l) => l.startsWith(`${name}:`))

export function runComputeDriverSuite(name: string, o: ComputeDriverSuiteOptions): void {
  describe(`compute driver suite: ${name}`, () => {
    let under: ComputeDriverUnderTest
    let driver: ComputeDriver
    const made = new Set<string>()
    const id = randomUUID()
    let envelope: Envelope

    const skipOf = (title: string): string | undefined => {
      if (/account|permissions/.test(title) && !isRoot) return 'per-instance accounts need root'
      return o.skip?.find((s) => s.tests.includes(title))?.reason
    }
    const test = (title: string, fn: () => Promise<void>): void => {
      const reason = skipOf(title)
      it(title, reason ? { skip: reason } : {}, fn)
    }
    const create = async (instanceId: string): Promise<Envelope> => {
      made.add(instanceId)
      return driver.createEnvelope(instanceId)
    }
    const under_ = (path: string): boolean => {
      const rel = relative(resolve(under.root), resolve(path))
      return rel !== '' && !rel.startsWith('..')
    }

    before(async () => {
      under = await o.make()
      driver = under.driver
    })
    // Every envelope made here is destroyed, accounts included, whatever failed.
    after(async () => {
      for (const instanceId of made) await driver?.destroyEnvelope(instanceId).catch(() => undefined)
      await under?.cleanup()
    })

    test('paths > stay under the root, one set per instance', async () => {
      const a = driver.paths(id)
      const b = driver.paths(randomUUID())
      for (const p of [a.volumeDir, a.runDir, a.guestDir, b.volumeDir, driver.cacheDir]) assert.ok(under_(p), `${p} is under ${under.root}`)
      assert.equal(new Set([a.volumeDir, a.runDir, a.guestDir, b.volumeDir, b.runDir, b.guestDir]).size, 6)
    })

    test('paths > refuse what is not an instance id, so nothing escapes the root', async () => {
      for (const bad of ['../../etc', '', '/', `${id}/../..`, 'x'.repeat(36)]) assert.throws(() => driver.paths(bad), bad)
    })

    test('envelope > none before it is made', async () => {
      assert.equal(await driver.envelope(id), undefined)
      assert.equal(await driver.volumeUsedBytes(id), 0)
    })

    test('envelope > create makes its folders and is idempotent', async () => {
      envelope = await create(id)
      for (const dir of [envelope.volumeDir, envelope.runDir, envelope.guestDir]) assert.ok((await lstat(dir)).isDirectory(), dir)
      const again = await create(id)
      assert.deepEqual(again, envelope)
      assert.deepEqual(await driver.envelope(id), envelope)
    })

    test('envelope > its account owns the volume and run folders; only Coffer owns the guest folder', async () => {
      for (const dir of [envelope.volumeDir, envelope.runDir]) {
        const st = await lstat(dir)
        assert.equal(st.uid, envelope.account.uid, dir)
        assert.equal(st.mode & 0o777, 0o700, dir)
      }
      const guest = await lstat(envelope.guestDir)
      assert.equal(guest.uid, process.getuid?.())
      assert.equal(guest.mode & 0o077, 0, 'the guest folder is private')
    })

    test('permissions > an account reaches its own volume, and neither its guest folder nor another instance', async () => {
      const other = await create(randomUUID())
      assert.notEqual(other.account.uid, envelope.account.uid, 'each instance has its own account')
      assert.equal(canRead(envelope.account.name, envelope.volumeDir), true)
      assert.equal(canRead(envelope.account.name, envelope.guestDir), false)
      assert.equal(canRead(envelope.account.name, other.volumeDir), false)
      assert.equal(canRead(envelope.account.name, resolve(envelope.volumeDir, '..', '..')), false, 'the list of instances')
    })

    test('volume > reports the bytes written to it', async () => {
      await writeFile(resolve(envelope.volumeDir, 'blob'), Buffer.alloc(2 * 1024 * 1024, 1))
      // The figure may be the last measure, renewed in the background: ask until the new one shows.
      const deadline = Date.now() + 20_000
      let used = await driver.volumeUsedBytes(id)
      while (used < 2 * 1024 * 1024 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        used = await driver.volumeUsedBytes(id)
      }
      assert.ok(used >= 2 * 1024 * 1024, `used ${used}`)
    })

    test('cache > prepared under the root', async () => {
      const cache = await driver.prepareCache(envelope.account)
      assert.equal(cache, driver.cacheDir)
      assert.ok((await lstat(cache)).isDirectory())
      assert.ok(under_(cache))
    })

    test('addresses > an address and port something listens on is not free', async () => {
      const server = createServer()
      await new Promise<void>((r) => server.listen(0, o.bindAddress, r))
      const { port } = server.address() as { port: number }
      try {
        assert.equal(await driver.addressIsFree(o.bindAddress, port), false)
      } finally {
        await new Promise((r) => server.close(r))
      }
      assert.equal(await driver.addressIsFree(o.bindAddress, port), true)
    })

    test('envelope > destroy removes it and its account, leaves other envelopes, and is idempotent', async () => {
      const keep = await create(randomUUID())
      await writeFile(resolve(keep.volumeDir, 'kept'), 'x')
      await driver.destroyEnvelope(id)
      await driver.destroyEnvelope(id)
      made.delete(id)
      assert.equal(await driver.envelope(id), undefined)
      assert.equal(await lstat(envelope.volumeDir).catch(() => undefined), undefined)
      assert.equal(await lstat(envelope.guestDir).catch(() => undefined), undefined)
      assert.equal(await readFile(resolve(keep.volumeDir, 'kept'), 'utf8'), 'x')
      assert.equal(await driver.volumeUsedBytes(id), 0)
    })

    test('envelope > destroying it removes its account', async () => {
      assert.equal(await passwdHas(envelope.account.name), false, `${envelope.account.name} is gone`)
    })
  })
}
