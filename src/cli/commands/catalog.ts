import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveFlavorId, resolveVersionPath } from '../resolve.js'

type Opts = { json?: boolean }

export function catalogCommands(program: Command, client: () => CofferClient): void {
  program
    .command('flavor-list')
    .description('List flavors (CPU and RAM sizes an instance can have)')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { flavors } = await client().request('GET', '/flavors')
      printList(flavors, [['ID', (f) => f.str_id], ['Name', (f) => f.name], ['RAM', (f) => f.ram], ['vCPUs', (f) => f.vcpus], ['Disk', (f) => f.disk]], o, flavors)
    })
  program
    .command('flavor-show <flavor>')
    .description('Show one flavor')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => printObject((await client().request('GET', `/flavors/${encodeURIComponent(await resolveFlavorId(client(), id))}`)).flavor, o))
  program
    .command('flavor-create <name> <ram> <vcpus>')
    .description('Add a flavor (admin): RAM in MB')
    .option('--disk <gb>', 'disk size shown for the flavor, GB', '0')
    .option('--id <id>', 'flavor id (default: the next number)')
    .option('--json', 'print JSON')
    .action(async (name: string, ram: string, vcpus: string, o: Opts & { disk: string; id?: string }) => {
      const { flavor } = await client().request('POST', '/flavors', { flavor: { name, ram: Number(ram), vcpus: Number(vcpus), disk: Number(o.disk), ...(o.id ? { id: o.id } : {}) } })
      printObject(flavor, o)
    })
  program
    .command('flavor-delete <flavor>')
    .description('Remove a flavor no instance uses (admin)')
    .action(async (id: string) => {
      await client().request('DELETE', `/flavors/${encodeURIComponent(await resolveFlavorId(client(), id))}`)
      console.log(`Deleted flavor ${id}.`)
    })
  program
    .command('datastore-list')
    .description('List datastores and their versions found on the node')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { datastores } = await client().request('GET', '/datastores')
      printList(datastores, [['ID', (d) => d.id], ['Name', (d) => d.name], ['Versions', (d) => d.versions.map((v: { name: string }) => v.name).join(', ')]], o, datastores)
    })
  program
    .command('datastore-show <datastore>')
    .description('Show one datastore')
    .option('--json', 'print JSON')
    .action(async (ds: string, o: Opts) => printObject((await client().request('GET', `/datastores/${encodeURIComponent(ds)}`)).datastore, o))
  program
    .command('datastore-version-list <datastore>')
    .description('List the versions of a datastore')
    .option('--json', 'print JSON')
    .action(async (ds: string, o: Opts) => {
      const { versions } = await client().request('GET', `/datastores/${encodeURIComponent(ds)}/versions`)
      printList(versions, [['ID', (v) => v.id], ['Name', (v) => v.name], ['Version', (v) => v.version]], o, versions)
    })
  program
    .command('datastore-version-show <version>')
    .description('Show a datastore version with its capabilities')
    .option('--datastore <datastore>', 'datastore of the version (needed when two datastores have a version of that name)')
    .option('--json', 'print JSON')
    .action(async (v: string, o: Opts & { datastore?: string }) => {
      printObject((await client().request('GET', await resolveVersionPath(client(), v, o.datastore))).version, o)
    })
}
