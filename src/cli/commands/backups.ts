/**
 * `coffer backup-*`: Trove's backup commands (backup-create, -list, -show, -delete,
 * -list-instance) and Coffer's restore drill (backup-verify), with a progress line (bytes, MB/s)
 * while a backup runs.
 */
import type { Command } from 'commander'
import { ApiError, type CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveInstanceId } from '../resolve.js'

type Opts = { json?: boolean }

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`

/** What a person needs of a backup; --json prints it all. */
const summary = (b: any) => ({
  id: b.id,
  name: b.name,
  status: b.status,
  instance_id: b.instance_id,
  parent_id: b.parent_id ?? '-',
  datastore: `${b.datastore?.type} ${b.datastore?.version}`,
  strategy: b.strategy ?? '-',
  size: b.size === null ? '-' : `${b.size} GB stored`,
  data_size: b.data_size_bytes === null ? '-' : mb(b.data_size_bytes),
  taken_at: b.taken_at ?? '-',
  verified: b.verified ? `${b.verified.status} at ${b.verified.at}: ${b.verified.detail}` : 'never (coffer backup-verify ID runs a restore drill)',
  ...(b.status_detail ? { status_detail: b.status_detail } : {}),
  description: b.description ?? '',
  created: b.created,
  updated: b.updated,
})

const RUNNING = ['NEW', 'BUILDING', 'SAVING']

/** Polls a backup until it is no longer running, printing its status and progress on stderr. */
export async function waitForBackup(c: CofferClient, id: string, json: boolean, until: (b: any) => boolean = (b) => !RUNNING.includes(b.status)): Promise<any> {
  const started = Date.now()
  for (;;) {
    const { backup } = await c.request('GET', `/backups/${id}`)
    if (!json) {
      const p = backup.progress ? `, ${mb(backup.progress.bytes)} at ${backup.progress.mb_per_s} MB/s` : ''
      process.stderr.write(`\r${id}: ${backup.status}${p} (${((Date.now() - started) / 1000).toFixed(0)} s)   `)
    }
    if (until(backup)) {
      if (!json) process.stderr.write('\n')
      return backup
    }
    await new Promise((r) => setTimeout(r, 500))
  }
}

export function backupCommands(program: Command, client: () => CofferClient): void {
  program
    .command('backup-create <instance> <name>')
    .description('Back up an instance (it keeps serving, status BACKUP meanwhile): full, or --incremental to its newest backup, or --parent ID')
    .option('--incremental', 'incremental to the instance\'s newest completed backup')
    .option('--parent <backup>', 'incremental to this backup')
    .option('--description <text>', 'a description')
    .option('--wait', 'show progress (bytes, MB/s) until it has completed (exit 1 if it failed)')
    .option('--json', 'print JSON')
    .action(async (instance: string, name: string, o: Opts & { incremental?: boolean; parent?: string; description?: string; wait?: boolean }) => {
      const c = client()
      const body = {
        backup: { name, instance: await resolveInstanceId(c, instance), incremental: o.incremental ? 1 : 0, ...(o.parent ? { parent_id: o.parent } : {}), ...(o.description ? { description: o.description } : {}) },
      }
      let { backup } = await c.request('POST', '/backups', body)
      if (o.wait) backup = await waitForBackup(c, backup.id, !!o.json)
      printObject(o.json ? backup : summary(backup), o)
      if (o.wait && backup.status !== 'COMPLETED') process.exitCode = 1
    })
  const list = (rows: any[], o: Opts) =>
    printList(
      rows,
      [['ID', (b) => b.id], ['Name', (b) => b.name], ['Instance', (b) => b.instance_id], ['Status', (b) => b.status], ['Parent', (b) => b.parent_id ?? ''], ['Size (GB)', (b) => b.size ?? ''], ['Taken at', (b) => b.taken_at ?? ''], ['Verified', (b) => b.verified?.status ?? '']],
      o,
      rows,
    )
  program
    .command('backup-list')
    .description('List the project\'s backups, newest first (those of deleted instances too)')
    .option('--instance <instance>', 'only the backups of this instance')
    .option('--limit <n>', 'at most this many')
    .option('--marker <id>', 'start after this backup id')
    .option('--json', 'print JSON')
    .action(async (o: Opts & { instance?: string; limit?: string; marker?: string }) => {
      const c = client()
      const q = new URLSearchParams({ ...(o.instance ? { instance_id: o.instance } : {}), ...(o.limit ? { limit: o.limit } : {}), ...(o.marker ? { marker: o.marker } : {}) }).toString()
      list((await c.request('GET', `/backups${q ? `?${q}` : ''}`)).backups, o)
    })
  program
    .command('backup-list-instance <instance>')
    .description('List the backups of one instance (which may have been deleted)')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const c = client()
      const id = await resolveInstanceId(c, instance).catch(() => instance)
      list((await c.request('GET', `/instances/${id}/backups`)).backups, o)
    })
  program
    .command('backup-show <backup>')
    .description('Show a backup: status, sizes, the engine\'s point, and its last restore drill')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const { backup } = await client().request('GET', `/backups/${id}`)
      printObject(o.json ? backup : summary(backup), o)
    })
  program
    .command('backup-delete <backup>')
    .description('Delete a backup (refused while another backup is incremental to it: delete a chain from its newest)')
    .option('--wait', 'wait until it is gone')
    .action(async (id: string, o: { wait?: boolean }) => {
      const c = client()
      await c.request('DELETE', `/backups/${id}`)
      if (!o.wait) return void console.log(`Deleting backup ${id}.`)
      for (;;) {
        try {
          const { backup } = await c.request('GET', `/backups/${id}`)
          if (backup.status === 'DELETE_FAILED') throw new Error(`backup ${id} could not be deleted: ${backup.status_detail ?? 'see the server log'}`)
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) return void console.log(`Deleted backup ${id}.`)
          throw err
        }
        await new Promise((r) => setTimeout(r, 300))
      }
    })
  program
    .command('backup-verify <backup>')
    .description('Restore drill: restore the backup into a throwaway engine, start it, read every table, remove it; the backup then shows when it was verified')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const c = client()
      const before = (await c.request('GET', `/backups/${id}`)).backup.verified?.at
      await c.request('POST', `/backups/${id}/action`, { verify: {} })
      const b = await waitForBackup(c, id, !!o.json, (x) => x.verified?.at && x.verified.at !== before)
      printObject(o.json ? b : summary(b), o)
      if (b.verified.status !== 'passed') process.exitCode = 1
    })
}
