/** Redis 7.0 runs the shared datastore suite (test/conformance/datastore-suite.ts). */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { redis } from '../src/guest/datastores/redis/index.js'
import { runDatastoreSuite } from './conformance/datastore-suite.js'
import { redisConfiguration, redisProbe } from './helpers/engines.js'

// The saved overrides are what redis.conf's group settings are rendered from at every start.
const overrides = (ctx: { guestDir: string }, values: object) => writeFile(join(ctx.guestDir, 'redis-configuration.json'), JSON.stringify(values), { mode: 0o600 })

runDatastoreSuite('redis', {
  datastore: redis,
  version: '7.0',
  probe: redisProbe,
  configuration: redisConfiguration,
  breakConfiguration: (ctx) => overrides(ctx, { timeout: 'soon' }),
  repairConfiguration: (ctx) => overrides(ctx, {}),
})
