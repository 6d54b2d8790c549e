import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList } from '../output.js'

type Opts = { json?: boolean }

export function spareCommands(program: Command, client: () => CofferClient): void {
  program
    .command('spare-list')
    .description('List the spare instances kept ready for fast creates, per datastore (admin; sized by COFFER_SPARES)')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const body = await client().request('GET', '/mgmt/spares')
      printList(body.pools, [['Datastore', (p) => p.datastore], ['Wanted', (p) => p.wanted], ['Ready', (p) => p.ready], ['Building', (p) => p.building]], o, body)
      if (!o.json && body.spares.length > 0) {
        printList(body.spares, [['ID', (s) => s.id], ['Datastore', (s) => `${s.datastore.type} ${s.datastore.version}`], ['Flavor', (s) => s.flavor.id], ['Status', (s) => s.status], ['Created', (s) => s.created]], o)
      }
    })
}
