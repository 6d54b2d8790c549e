/**
 * Instance actions from Trove's own client, `openstack database instance ...`: resize flavor,
 * update --allowed-cidr (shown back as the client shows `access`), restart; and the legacy `trove`
 * CLI's resize-volume, driven by the home's openrc as a user would.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)

describe('Trove clients: instance actions', { skip: !existsSync('/usr/bin/openstack') && 'python3-openstackclient is not installed (make test installs it)' }, () => {
  let coffer: CofferProcess
  let scratch: string
  let env: NodeJS.ProcessEnv
  const openstack = async (...args: string[]) => (await run('openstack', args, { env, timeout: 60_000 })).stdout
  const json = async (...args: string[]) => JSON.parse(await openstack(...args, '-f', 'json'))
  const until = async (id: string, done: (i: any) => boolean) => {
    for (let i = 0; i < 240; i++) {
      const inst = await json('database', 'instance', 'show', id)
      if (done(inst)) return inst
      await new Promise((r) => setTimeout(r, 250))
    }
    throw new Error(`instance ${id} did not get there`)
  }

  /** What `source openrc` would export: the `trove` CLI reads only OS_* variables. */
  const trove = async (...args: string[]) => {
    const openrc = Object.fromEntries([...readFileSync(join(coffer.home, 'openrc'), 'utf8').matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]]))
    return (await run('trove', args, { env: { PATH: process.env.PATH, HOME: scratch, ...openrc }, timeout: 60_000 })).stdout
  }

  before(async () => {
    coffer = await startCoffer()
    scratch = mkdtempSync('/tmp/coffer-clients-')
    env = { PATH: process.env.PATH, HOME: scratch, OS_CLIENT_CONFIG_FILE: join(coffer.home, 'clouds.yaml'), OS_CLOUD: 'coffer' }
  })
  after(async () => {
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('resizes the flavor, changes access and restarts', async () => {
    const id = (await json('database', 'instance', 'create', 'osc-actions', '--flavor', '1', '--size', '1', '--datastore', 'postgresql', '--datastore-version', '15')).id as string
    await until(id, (i) => i.status === 'ACTIVE')
    await openstack('database', 'instance', 'resize', 'flavor', id, '2')
    const resized = await until(id, (i) => i.status === 'ACTIVE' && i.flavor === '2')
    assert.equal(resized.public, false)

    await openstack('database', 'instance', 'update', id, '--allowed-cidr', '127.0.0.2/32', '--allowed-cidr', '10.0.0.0/8')
    const narrowed = await until(id, (i) => i.status === 'ACTIVE' && i.allowed_cidrs?.length === 2)
    assert.deepEqual(narrowed.allowed_cidrs, ['127.0.0.2/32', '10.0.0.0/8'])

    await openstack('database', 'instance', 'restart', id)
    await until(id, (i) => i.status === 'ACTIVE')
    await assert.rejects(openstack('database', 'instance', 'update', id, '--is-public'), /is_public true needs an address/)
    await openstack('database', 'instance', 'delete', id)
  })

  it('grows the volume with the trove CLI\'s resize-volume', { skip: !existsSync('/usr/bin/trove') && 'no trove CLI (python3-troveclient)' }, async () => {
    const id = (await json('database', 'instance', 'create', 'trove-volume', '--flavor', '1', '--size', '1', '--datastore', 'redis', '--datastore-version', '7.0')).id as string
    try {
      await until(id, (i) => i.status === 'ACTIVE')
      await trove('resize-volume', id, '2')
      const grown = await until(id, (i) => i.status === 'ACTIVE' && i.volume === 2)
      assert.equal(grown.volume, 2)
    } finally {
      await openstack('database', 'instance', 'delete', id)
    }
  })
})
