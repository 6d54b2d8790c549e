/**
 * The `coffer` CLI as a user runs it: credentials from the home's clouds.yaml, tables by default,
 * --json for scripts, --wait with progress, and --help everywhere.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { COFFER_BIN, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)

describe('coffer CLI', () => {
  let coffer: CofferProcess
  let env: NodeJS.ProcessEnv
  const coffer_ = async (...args: string[]) => (await run(COFFER_BIN, args, { env, timeout: 120_000 })).stdout
  const json = async (...args: string[]) => JSON.parse(await coffer_(...args, '--json'))

  before(async () => {
    coffer = await startCoffer()
    env = { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: coffer.home }
  })
  after(async () => coffer?.destroy())

  it('prints tables by default and JSON with --json', async () => {
    const table = await coffer_('flavor-list')
    assert.match(table, /ID.*Name.*RAM/)
    assert.match(table, /m1\.tiny/)
    const datastores = await json('datastore-list')
    assert.ok(datastores.some((d: any) => d.name === 'postgresql'))
    const version = await json('datastore-version-show', '15', '--datastore', 'postgresql')
    assert.equal(version.capabilities.databases, true)
  })

  it('creates with --wait, then manages databases, users and root', async () => {
    const created = await json('create', 'cli-db', '1', '--size', '1', '--datastore', 'postgresql', '--datastore_version', '15', '--databases', 'one', '--users', 'cli:Cli-pass-1', '--wait')
    assert.equal(created.status, 'ACTIVE')
    assert.match(await coffer_('list'), /cli-db.*ACTIVE/)
    assert.equal((await json('show', 'cli-db')).id, created.id, 'found by name')
    await coffer_('database-create', 'cli-db', 'two')
    assert.deepEqual((await json('database-list', 'cli-db')).map((d: any) => d.name), ['one', 'two'])
    await coffer_('user-grant-access', 'cli-db', 'cli', 'two')
    assert.deepEqual((await json('user-show-access', 'cli-db', 'cli')).map((d: any) => d.name), ['one', 'two'])
    await coffer_('user-revoke-access', 'cli-db', 'cli', 'two')
    assert.deepEqual((await json('user-show-access', 'cli-db', 'cli')).map((d: any) => d.name), ['one'])
    const root = await json('root-enable', 'cli-db')
    assert.equal(root.name, 'root')
    assert.deepEqual(await json('root-show', 'cli-db'), { rootEnabled: true })
    const params = await coffer_('configuration-parameter-list', '15', '--datastore', 'postgresql')
    assert.match(params, /Name.*Type.*Min Size.*Max Size.*Restart Required/)
    await coffer_('delete', 'cli-db', '--wait')
    assert.deepEqual(await json('list'), [])
  })

  it('says what went wrong and exits non-zero', async () => {
    await assert.rejects(coffer_('create', 'x', 'no-such-flavor', '--size', '1', '--datastore', 'postgresql'), (err: any) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, /no-such-flavor cannot be found.*\(HTTP 400\)/)
      return true
    })
    await assert.rejects(coffer_('create', 'x', '1', '--size', '1', '--datastore', 'postgresql', '--users', 'nopassword'), /NAME:PASSWORD/)
    await assert.rejects(run(COFFER_BIN, ['list'], { env: { PATH: process.env.PATH, HOME: '/nonexistent', COFFER_HOME: '/nonexistent' } }), /no credentials/)
  })

  it('has --help on its commands', async () => {
    const help = await coffer_('--help')
    const commands = [...help.matchAll(/^  ([a-z][a-z-]+)/gm)].map((m) => m[1]).filter((c) => c !== 'help')
    assert.ok(commands.length > 30, commands.join(' '))
    // One of each family (each --help is a process start; commander gives every command one).
    for (const c of ['serve', 'create', 'user-create', 'configuration-create', 'root-enable', 'restart']) {
      assert.ok(commands.includes(c), c)
      assert.match(await coffer_(c, '--help'), new RegExp(`Usage: coffer ${c}`), c)
    }
  })
})
