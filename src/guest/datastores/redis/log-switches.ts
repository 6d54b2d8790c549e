/**
 * Which of Redis's USER logs a client turned on, saved in the guest folder, and the redis.conf
 * value that follows from it. Read by the start (manager.ts) and by a configuration apply, which
 * sets every parameter of its list live and must put the slow log's threshold back to this, not to
 * Redis's own default, when the group does not set it.
 */
import type { ConfigurationValues } from '../../../core/configuration.js'
import { overridesFile } from '../common/overrides-file.js'

export type LogSwitches = Record<string, boolean>

export const logSwitches = overridesFile<LogSwitches>('redis-logs.json', {})

export const SLOWLOG_SETTING = 'slowlog-log-slower-than'
/** Redis's own default, 10 ms, in microseconds. */
export const SLOWLOG_ON = 10_000
/** Any negative value turns the slow log off; Redis's own default is on, Coffer's is off until enabled. */
export const SLOWLOG_OFF = -1

/** redis.conf values for the switches; a configuration group's own value for the same name wins over them. */
export function logSettings(saved: LogSwitches): ConfigurationValues {
  return { [SLOWLOG_SETTING]: saved.slow_query ? SLOWLOG_ON : SLOWLOG_OFF }
}

/** The threshold in effect: the group's value when it sets one, else the switch's. */
export function slowlogThreshold(saved: LogSwitches, group: ConfigurationValues): string {
  return String({ ...logSettings(saved), ...group }[SLOWLOG_SETTING])
}
