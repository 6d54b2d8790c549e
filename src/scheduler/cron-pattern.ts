/**
 * Cron patterns of backup schedules, read with croner in UTC: 5 fields (`minute hour day month
 * weekday`, e.g. `0 2 * * *`) or 6 with seconds first, as Quartz and the seed's
 * `trove schedule-create db-inst-1 "0 0 2 ? * *" daily-bkp` write them (`?` = any). Weekdays are
 * 0-6 from Sunday (7 is Sunday too), as in Mistral's croniter. Pure: no clock of its own.
 */
import { Cron } from 'croner'
import { BadRequest } from '../core/errors.js'

export interface CronPattern {
  readonly text: string
  /** The first time strictly after `after`; undefined when the pattern names no later time. */
  next(after: Date): Date | undefined
}

/** A backup at most once a minute: anything faster is a typo (`* * * * * *` is every second). */
export const MIN_INTERVAL_MS = 60_000
const MAX_LENGTH = 128
const HOW = 'Use 5 fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * *") or 6 with seconds first (e.g. "0 0 2 ? * *"); times are UTC.'

/** Reads a pattern; throws BadRequest saying what is wrong and how to write one. */
export function parsePattern(text: string, now: Date = new Date()): CronPattern {
  const t = text.trim()
  if (!t || t.length > MAX_LENGTH) throw new BadRequest(`A schedule needs a cron pattern of 1 to ${MAX_LENGTH} characters. ${HOW}`, 'VALIDATION')
  const fields = t.split(/\s+/).length
  if (!t.startsWith('@') && fields !== 5 && fields !== 6) throw new BadRequest(`Pattern '${t}' has ${fields} field(s). ${HOW}`, 'VALIDATION')
  let cron: Cron
  try {
    cron = new Cron(t, { paused: true, timezone: 'UTC', mode: '5-or-6-parts' })
  } catch (err) {
    throw new BadRequest(`Pattern '${t}' is not a valid cron pattern: ${(err as Error).message.replace(/^CronPattern: /, '').replace(/\.+$/, '')}. ${HOW}`, 'VALIDATION')
  }
  const pattern: CronPattern = { text: t, next: (after) => cron.nextRun(after) ?? undefined }
  const runs: Date[] = []
  for (let at: Date | undefined = now; runs.length < 5 && (at = pattern.next(at)); ) runs.push(at)
  if (runs.length === 0) throw new BadRequest(`Pattern '${t}' names no time after ${now.toISOString()}, so it would never run. ${HOW}`, 'VALIDATION')
  for (let i = 1; i < runs.length; i++) {
    if (runs[i]!.getTime() - runs[i - 1]!.getTime() < MIN_INTERVAL_MS) {
      throw new BadRequest(`Pattern '${t}' runs more than once a minute (${runs[i - 1]!.toISOString()}, ${runs[i]!.toISOString()}); a backup schedule runs at most once a minute. ${HOW} Did you mean "0 ${t.split(/\s+/).slice(1).join(' ')}"?`, 'VALIDATION')
    }
  }
  return pattern
}

export interface RunPlan {
  /** The due time to run now: the latest one, if it is within the grace period. */
  readonly run?: Date
  /** Due times that will not run, newest first, at most `maxMissed` of them. */
  readonly missed: readonly Date[]
  /** How many more were missed than listed (counted up to a bound, then "at least"). */
  readonly missedMore: number
  /** The next time after `now`. */
  readonly next: Date | undefined
}

export interface PlanOptions {
  /** A due time this late or less still runs (a restart or a slow tick); older ones are missed. */
  readonly graceMs: number
  readonly maxMissed: number
}

const COUNT_BOUND = 10_000

/**
 * What to do with a schedule whose next run (`due`) has come: every time from `due` to `now` is
 * due; the latest runs if it is at most `graceMs` late, and all others are missed, never silently
 * dropped and never run late in a burst.
 */
export function planRuns(pattern: CronPattern, due: Date, now: Date, o: PlanOptions): RunPlan {
  const times: Date[] = []
  let count = 0
  for (let at: Date | undefined = due; at && at.getTime() <= now.getTime() && count < COUNT_BOUND; at = pattern.next(at)) {
    count++
    times.push(at)
    if (times.length > o.maxMissed + 1) times.shift()
  }
  const latest = times.at(-1)
  const run = latest && now.getTime() - latest.getTime() <= o.graceMs ? latest : undefined
  const missedTimes = (run ? times.slice(0, -1) : times).reverse()
  const missed = missedTimes.slice(0, o.maxMissed)
  const missedTotal = count - (run ? 1 : 0)
  return { ...(run ? { run } : {}), missed, missedMore: missedTotal - missed.length, next: pattern.next(now) }
}
