/**
 * Redis's guest logs: the SYS log `error` is the server's own log file (redis.conf `logfile`,
 * config.ts); the USER log `slow_query` is Redis's in-memory slow log, collected into a file
 * before it is read (slowlog.ts). Its switch is saved in the guest folder and rendered into
 * redis.conf at every start (log-switches.ts), and set live with CONFIG SET; a configuration
 * group's own `slowlog-log-slower-than` wins over it, there and live.
 */
import { serialised } from '../common/serialise.js'
import type { GuestLogDefinition, InstanceContext, LogAdmin } from '../datastore.js'
import { withService } from './client.js'
import { readOverrides } from './configuration.js'
import { logSwitches, SLOWLOG_SETTING, slowlogThreshold } from './log-switches.js'
import { redisPaths } from './manager.js'
import { collectSlowlog, slowlogFile } from './slowlog.js'

const logs: readonly GuestLogDefinition[] = [
  { name: 'slow_query', type: 'USER', file: async (ctx) => slowlogFile(ctx), collect: collectSlowlog },
  { name: 'error', type: 'SYS', file: async (ctx) => redisPaths(ctx).logFile },
]

/** Redis's LogAdmin. */
export const redisLogs: LogAdmin = {
  logs,
  async enabled(ctx: InstanceContext, name: string) {
    if (name !== 'slow_query') return false
    const [, value] = (await withService(ctx, (c) => c.call('CONFIG', 'GET', SLOWLOG_SETTING))) as [string, string]
    return Number(value) >= 0
  },
  // Same queue as start and configuration applies (keyed by volumeDir): redis.conf is rendered from what one of them saved.
  setEnabled: (ctx: InstanceContext, name: string, on: boolean) =>
    serialised(ctx.volumeDir, async () => {
      if (name !== 'slow_query') return
      const saved = { ...(await logSwitches.read(ctx)), [name]: on }
      await logSwitches.write(ctx, saved)
      const threshold = slowlogThreshold(saved, await readOverrides(ctx))
      await withService(ctx, (c) => c.call('CONFIG', 'SET', SLOWLOG_SETTING, threshold))
    }),
}
