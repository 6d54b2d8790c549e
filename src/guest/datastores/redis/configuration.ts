/**
 * Redis's configuration groups (Trove's configuration parameters).
 *
 * Catalog: the curated list in parameters.ts; Redis cannot describe its parameters' types and
 * bounds, so there is no engine to ask and nothing to cache.
 *
 * Overrides: saved first as JSON in guestDir (the truth), rendered into redis.conf at every start
 * (config.ts), and applied live with one CONFIG SET carrying every parameter of the list: the
 * override where the group sets one, Coffer's own value otherwise. Redis 7 applies a multi-pair
 * CONFIG SET all or nothing, so a value Redis refuses changes nothing, and a parameter the group
 * no longer sets is back to its default in the same step. No CONFIG REWRITE: Coffer rewrites
 * redis.conf at every start anyway, from the saved overrides.
 */
import type { ConfigurationValues, ParameterSpec } from '../../../core/configuration.js'
import { BadRequest, errorMessage } from '../../../core/errors.js'
import { overridesFile } from '../common/overrides-file.js'
import { serialised } from '../common/serialise.js'
import type { ConfigurationAdmin, InstanceContext } from '../datastore.js'
import { withService } from './client.js'
import { engineSettings } from './config.js'
import { logSettings, logSwitches } from './log-switches.js'
import { redisCatalog, redisParameter, wantedValues } from './parameters.js'
import { redisTuning } from './tuning.js'

const overrides = overridesFile<ConfigurationValues>('redis-configuration.json', {})

/** The instance's saved overrides ({} when it has none), async and sync (for effectiveConfiguration). */
export const { read: readOverrides, readSync: readOverridesSync } = overrides

/** Coffer's own redis.conf values for the flavor and the guest logs' switches, unquoted (`save ""` → empty). */
async function baseValues(ctx: InstanceContext): Promise<Map<string, string>> {
  const unquote = (v: string): string => (/^".*"$/.test(v) ? v.slice(1, -1) : v)
  const logs = Object.entries(logSettings(await logSwitches.read(ctx))).map(([k, v]): [string, string] => [k, String(v)])
  return new Map([...engineSettings(redisTuning(ctx.flavor)).map(([k, v]): [string, string] => [k, unquote(v)]), ...logs])
}

async function applyUnlocked(ctx: InstanceContext, values: ConfigurationValues): Promise<{ restartRequired: string[] }> {
  for (const name of Object.keys(values)) {
    if (!redisParameter(name)) throw new BadRequest(`The configuration parameter ${name} is not supported for this datastore: Redis.`)
  }
  const previous = await readOverrides(ctx)
  await overrides.write(ctx, values)
  try {
    const base = await baseValues(ctx)
    // Name and value travel as separate arguments: a value can never become a second pair.
    await withService(ctx, (c) => c.call('CONFIG', 'SET', ...wantedValues(values, base).flat()))
  } catch (err) {
    // Nothing changed in the engine (all or nothing); the saved overrides go back to match it.
    await overrides.write(ctx, previous)
    if (err instanceof Error && err.name === 'ReplyError' && /^ERR CONFIG SET failed/.test(err.message)) {
      throw new BadRequest(`Redis refused the configuration: ${errorMessage(err).replace(/^ERR CONFIG SET failed /, '')}`)
    }
    throw err
  }
  // Every parameter in the list is live (a unit test keeps it so): nothing waits for a restart.
  return { restartRequired: [] }
}

/** Redis's ConfigurationAdmin. */
export const redisConfiguration: ConfigurationAdmin = {
  catalog: async (): Promise<ParameterSpec[]> => redisCatalog(),
  // Same queue as start and stop (manager.ts keys it by volumeDir): a start never renders half an apply.
  apply: (ctx: InstanceContext, values: ConfigurationValues) => serialised(ctx.volumeDir, () => applyUnlocked(ctx, values)),
}
