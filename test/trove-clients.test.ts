/**
 * Trove's own clients, from Debian's packages, against a real `coffer serve` using the clouds.yaml
 * and openrc the server wrote: `openstack database ...` and the legacy `trove` CLI.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)

describe('Trove clients', { skip: !existsSync('/usr/bin/openstack') && 'python3-openstackclient is not installed (make test installs it)' }, () => {
  let coffer: CofferProcess
  let scratch: string
  let env: NodeJS.ProcessEnv
  const openstack = async (...args: string[]) => {
    const { stdout } = await run('openstack', args, { env, timeout: 60_000 })
    return stdout
  }
  const json = async (...args: string[]) => JSON.parse(await openstack(...args, '-f', 'json'))
  /** What `source openrc` would export, for the legacy `trove` CLI (it reads only OS_* variables). */
  const openrcVars = () => Object.fromEntries([...readFileSync(join(coffer.home, 'openrc'), 'utf8').matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]]))

  before(async () => {
    coffer = await startCoffer()
    scratch = mkdtempSync('/tmp/coffer-clients-')
    // Only what a user would have: the server's clouds.yaml; HOME elsewhere keeps the client's caches out of ours.
    env = { PATH: process.env.PATH, HOME: scratch, OS_CLIENT_CONFIG_FILE: join(coffer.home, 'clouds.yaml'), OS_CLOUD: 'coffer' }
  })
  after(async () => {
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('lists flavors and datastores', async () => {
    const flavors = await json('database', 'flavor', 'list')
    assert.ok(flavors.some((f: any) => f.Name === 'm1.tiny'), JSON.stringify(flavors))
    const datastores = await json('datastore', 'list')
    assert.ok(datastores.some((d: any) => d.Name === 'postgresql'))
    const versions = await json('datastore', 'version', 'list', 'postgresql')
    assert.deepEqual(versions.map((v: any) => v.Name), ['15'])
    const shown = await json('datastore', 'show', 'postgresql')
    assert.match(JSON.stringify(shown), /15 \(/)
  })

  it('creates, lists, shows and deletes an instance', async () => {
    const created = await json('database', 'instance', 'create', 'from-osc', '--flavor', '1', '--size', '1', '--datastore', 'postgresql', '--datastore-version', '15', '--databases', 'db1', '--users', 'u1:Passw0rd-1')
    assert.equal(created.status, 'BUILD')
    const id = created.id as string
    let shown: any
    for (let i = 0; i < 120; i++) {
      shown = await json('database', 'instance', 'show', id)
      if (shown.status !== 'BUILD') break
      await new Promise((r) => setTimeout(r, 500))
    }
    assert.equal(shown.status, 'ACTIVE', JSON.stringify(shown))
    assert.equal(shown.datastore, 'postgresql')
    const list = await json('database', 'instance', 'list')
    assert.deepEqual(list.map((i: any) => i.ID), [id])
    const byName = await json('database', 'instance', 'show', 'from-osc')
    assert.equal(byName.id, id)

    // What `show` prints is all a user needs: the engine's own client, given only that address,
    // connects on the standard port.
    const shownIp = /\b(\d+\.\d+\.\d+\.\d+)\b/.exec(JSON.stringify(shown.ip ?? shown.addresses))?.[1]
    assert.ok(shownIp, `an address in ${JSON.stringify(shown)}`)
    const psql = async (host: string) =>
      (await run('psql', [`host=${host} user=u1 dbname=db1`, '-tAc', 'SELECT session_user'], { env: { ...env, PGPASSWORD: 'Passw0rd-1', PGCONNECT_TIMEOUT: '5' }, timeout: 20_000 })).stdout.trim()
    if (existsSync('/usr/bin/psql')) assert.equal(await psql(shownIp), 'u1')
    if (existsSync('/usr/bin/trove')) {
      const { stdout } = await run('trove', ['show', id], { env: { PATH: process.env.PATH, HOME: scratch, ...openrcVars() }, timeout: 60_000 })
      const troveIp = /\|\s*ip\s*\|\s*(\d+\.\d+\.\d+\.\d+)/.exec(stdout)?.[1]
      assert.equal(troveIp, shownIp, stdout)
      if (existsSync('/usr/bin/psql')) assert.equal(await psql(troveIp), 'u1')
    }

    const out = await openstack('database', 'instance', 'delete', id)
    assert.match(out, /accepted/)
    for (let i = 0; i < 120; i++) {
      const left = await json('database', 'instance', 'list')
      if (left.length === 0) return
      await new Promise((r) => setTimeout(r, 500))
    }
    assert.fail('instance was not deleted')
  })

  it('manages databases, users, root and configuration groups', async () => {
    const created = await json('database', 'instance', 'create', 'osc-schema', '--flavor', '1', '--size', '1', '--datastore', 'postgresql', '--datastore-version', '15')
    const id = created.id as string
    for (let i = 0; i < 120 && (await json('database', 'instance', 'show', id)).status !== 'ACTIVE'; i++) await new Promise((r) => setTimeout(r, 500))
    await openstack('database', 'db', 'create', id, 'appdb')
    assert.deepEqual((await json('database', 'db', 'list', id)).map((d: any) => d.Name), ['appdb'])
    await openstack('database', 'user', 'create', id, 'bob', 'Bob-pass-1', '--databases', 'appdb')
    assert.deepEqual((await json('database', 'user', 'list', id)).map((u: any) => u.Name), ['bob'])
    assert.deepEqual((await json('database', 'user', 'show', 'access', id, 'bob')).map((d: any) => d.Name), ['appdb'])
    const root = await json('database', 'root', 'enable', id)
    assert.equal(root.name, 'root')
    assert.equal((await json('database', 'root', 'show', id)).is_root_enabled, true)
    const params = await json('database', 'configuration', 'parameter', 'list', '15', '--datastore', 'postgresql')
    assert.ok(params.some((p: any) => p.Name === 'work_mem'))
    const group = await json('database', 'configuration', 'create', 'grp', '{"work_mem": 8192}', '--datastore', 'postgresql', '--datastore-version', '15')
    await openstack('database', 'configuration', 'attach', id, group.id)
    assert.deepEqual((await json('database', 'configuration', 'instances', group.id)).map((i: any) => i.ID), [id])
    await openstack('database', 'configuration', 'detach', id)
    await openstack('database', 'instance', 'delete', id)
  })

  it('reports a missing instance the client can read', async () => {
    await assert.rejects(openstack('database', 'instance', 'show', 'no-such-instance'), (err: any) => /No instance|could not be found|cannot be found/i.test(String(err.stderr)))
  })

  it('works with the legacy trove CLI and the openrc file', { skip: !existsSync('/usr/bin/trove') && 'no trove CLI' }, async () => {
    const { stdout } = await run('trove', ['flavor-list'], { env: { PATH: process.env.PATH, HOME: scratch, ...openrcVars() }, timeout: 60_000 })
    assert.match(stdout, /m1\.tiny/)
  })
})
