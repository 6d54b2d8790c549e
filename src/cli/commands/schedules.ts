/** Backup schedules: `schedule-create|list|show|delete`, as the `trove` CLI spells them, on Coffer's own API. */
import { type Command, InvalidArgumentError } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveInstanceId } from '../resolve.js'

type Opts = { json?: boolean }

const count = (what: string) => (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a whole number of ${what}, at least 1`)
  return n
}

const retention = (s: any): string => [s.keep_last ? `last ${s.keep_last}` : '', s.keep_days ? `${s.keep_days} days` : ''].filter(Boolean).join(', ') || 'keep all'
const summary = ({ runs: _runs, ...s }: any) => ({ ...s, retention: retention(s) })

export function scheduleCommands(program: Command, client: () => CofferClient): void {
  program
    .command('schedule-create <instance> <pattern> <name>')
    .description(
      'Back up an instance on a cron schedule (UTC), e.g. `coffer schedule-create db-inst-1 "0 0 2 ? * *" daily-bkp --keep-last 7`.\n' +
        'PATTERN has 5 fields (minute hour day-of-month month day-of-week: "0 2 * * *") or 6 with seconds first (Quartz/Mistral: "0 0 2 ? * *").\n' +
        'Each run makes a backup named NAME plus its time; a run Coffer was down for is reported as MISSED.',
    )
    .option('--description <text>', 'description of the backups')
    .option('--incremental', 'take each backup incremental to the newest one (where the datastore can); a new full one starts each --keep-last (default 7) backups')
    .option('--keep-last <n>', 'retention: keep the last N completed backups of this schedule', count('backups'))
    .option('--keep-days <n>', 'retention: keep the backups of the last N days (with --keep-last, a backup either keeps stays)', count('days'))
    .option('--verify', 'restore-drill each backup once it completed')
    .option('--json', 'print JSON')
    .action(async (instance: string, pattern: string, name: string, o: Opts & { description?: string; incremental?: boolean; keepLast?: number; keepDays?: number; verify?: boolean }) => {
      const id = await resolveInstanceId(client(), instance)
      const { schedule } = await client().request('POST', `/instances/${id}/schedules`, {
        schedule: {
          pattern,
          name,
          ...(o.description ? { description: o.description } : {}),
          ...(o.incremental ? { incremental: true } : {}),
          ...(o.verify ? { verify: true } : {}),
          ...(o.keepLast ? { keep_last: o.keepLast } : {}),
          ...(o.keepDays ? { keep_days: o.keepDays } : {}),
        },
      })
      printObject(o.json ? schedule : summary(schedule), o)
    })
  program
    .command('schedule-list <instance>')
    .description('List the backup schedules of an instance')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const { schedules } = await client().request('GET', `/instances/${await resolveInstanceId(client(), instance)}/schedules`)
      printList(schedules, [['ID', (s) => s.id], ['Name', (s) => s.name], ['Pattern', (s) => s.pattern], ['Next run (UTC)', (s) => s.next_run ?? 'never'], ['Retention', retention], ['Verify', (s) => (s.verify ? 'yes' : '')]], o, schedules)
    })
  program
    .command('schedule-show <id>')
    .description('Show a backup schedule: its next run and its recent runs, MISSED and ERROR ones with the reason')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const { schedule } = await client().request('GET', `/schedules/${encodeURIComponent(id)}`)
      if (o.json) return printObject(schedule, o)
      printObject(summary(schedule), o)
      if (schedule.runs.length === 0) return console.log('No runs yet.')
      printList(schedule.runs, [['Due (UTC)', (r) => r.scheduled_for], ['State', (r) => r.state], ['Backup', (r) => r.backup_id ?? ''], ['Message', (r) => r.message ?? '']], o)
    })
  program
    .command('schedule-delete <id>')
    .description('Delete a backup schedule (its backups stay)')
    .action(async (id: string) => {
      await client().request('DELETE', `/schedules/${encodeURIComponent(id)}`)
      console.log(`Deleted backup schedule ${id}; its backups are kept.`)
    })
}
