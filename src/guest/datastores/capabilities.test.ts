/**
 * Every datastore advertises exactly what its parts provide: the manifest's capabilities equal
 * `capabilitiesOf` of the datastore, and each one matches the part it stands for.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { capabilitiesOf } from '../../core/manifest.js'
import { datastores } from './index.js'

const enabled = (caps: Readonly<Record<string, boolean>>): string[] => Object.entries(caps).filter(([, v]) => v).map(([k]) => k)

describe('datastore capabilities', () => {
  for (const [name, ds] of Object.entries(datastores)) {
    it(`${name}: the manifest advertises what its parts provide`, async () => {
      const manifest = await ds.discover()
      assert.equal(manifest.name, name)
      assert.deepEqual(manifest.capabilities, capabilitiesOf(ds))
      assert.equal(manifest.capabilities.databases, ds.databases !== undefined)
      assert.equal(manifest.capabilities.users, ds.users !== undefined)
      assert.equal(manifest.capabilities.root, ds.root !== undefined)
      assert.equal(manifest.capabilities.configuration, ds.configuration !== undefined)
    })
  }

  it('gives each engine family what it is known to have', async () => {
    const of = async (name: string) => enabled((await datastores[name]!.discover()).capabilities)
    assert.deepEqual(await of('postgresql'), ['provisioning', 'databases', 'users', 'root', 'configuration', 'backup', 'incremental_backup', 'point_in_time_restore', 'replication'])
    assert.deepEqual(await of('mariadb'), ['provisioning', 'databases', 'users', 'root', 'configuration', 'backup', 'incremental_backup', 'point_in_time_restore', 'replication'])
    assert.deepEqual(await of('mysql'), ['provisioning', 'databases', 'users', 'root'])
    assert.deepEqual(await of('redis'), ['provisioning', 'users', 'root', 'configuration', 'backup', 'replication'])
  })
})
