/** Per-project quotas (cloud admin), as `trove quota-show` / `quota-update` spell them. */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'

type Opts = { json?: boolean }

export function quotaCommands(program: Command, client: () => CofferClient): void {
  program
    .command('quota-show <project>')
    .description('Show a project\'s quotas and what it uses (admin); the project by id or name')
    .option('--json', 'print JSON')
    .action(async (project: string, o: Opts) => {
      const { quotas } = await client().request('GET', `/mgmt/quotas/${encodeURIComponent(project)}`)
      printList(quotas, [['Resource', (q) => q.resource], ['In Use', (q) => q.in_use], ['Reserved', (q) => q.reserved], ['Limit', (q) => q.limit]], o, quotas)
    })
  program
    .command('quota-update <project> <resource> <limit>')
    .description('Set a project\'s limit for instances or volumes (total GB); -1 for none (admin)')
    .option('--json', 'print JSON')
    .action(async (project: string, resource: string, limit: string, o: Opts) => {
      if (!/^-?\d+$/.test(limit)) throw new Error(`LIMIT must be a whole number, not '${limit}'`)
      const { quotas } = await client().request('PUT', `/mgmt/quotas/${encodeURIComponent(project)}`, { quotas: { [resource]: Number(limit) } })
      printObject(quotas, o)
    })
}
