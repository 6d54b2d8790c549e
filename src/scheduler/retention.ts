/**
 * A schedule's retention: which of its completed backups have outlived every rule that keeps
 * them. Rules add up, as restic's `--keep-last`/`--keep-within` do: a backup among the last N, or
 * younger than N days, is kept. Pure; the scheduler deletes only those of the result that no other
 * backup is incremental to (a chain goes from its tip, one link per tick, or stays whole).
 */
export interface Retention {
  readonly keepLast?: number | null | undefined
  readonly keepDays?: number | null | undefined
}

export interface RetainedBackup {
  readonly id: string
  /** Its consistent point, or when it was made (ISO). */
  readonly at: string
}

const DAY_MS = 86_400_000

/** The backups no rule keeps; `completed` oldest first. None when the schedule has no rule. */
export function expiredBackups(completed: readonly RetainedBackup[], rule: Retention, now: Date): RetainedBackup[] {
  const { keepLast, keepDays } = rule
  if (!keepLast && !keepDays) return []
  return completed.filter((b, i) => {
    const amongLast = keepLast ? i >= completed.length - keepLast : false
    const recent = keepDays ? now.getTime() - Date.parse(b.at) < keepDays * DAY_MS : false
    return !amongLast && !recent
  })
}
