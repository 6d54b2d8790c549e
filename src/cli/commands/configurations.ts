/** Configuration groups and parameters, as the `trove` CLI spells them. */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveConfigurationId, resolveInstanceId } from '../resolve.js'

type Opts = { json?: boolean }

function parseValues(text: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new Error(`VALUES must be a JSON object, e.g. '{"max_connections": 200}'; got ${text}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('VALUES must be a JSON object')
  return v as Record<string, unknown>
}

const groupSummary = (c: any) => ({ ...c, values: c.values === undefined ? undefined : JSON.stringify(c.values) })

export function configurationCommands(program: Command, client: () => CofferClient): void {
  program
    .command('configuration-create <name> <values>')
    .description('Create a configuration group, e.g. `coffer configuration-create tuned \'{"work_mem": 8192}\' --datastore postgresql`')
    .requiredOption('--datastore <datastore>', 'datastore of the group')
    .option('--datastore-version <version>', 'datastore version (default: the datastore\'s default)')
    .option('--datastore_version <version>', 'same as --datastore-version (trove spelling)')
    .option('--description <text>', 'description')
    .option('--json', 'print JSON')
    .action(async (name: string, values: string, o: Opts & { datastore: string; datastoreVersion?: string; datastore_version?: string; description?: string }) => {
      const version = o.datastoreVersion ?? o.datastore_version
      const { configuration } = await client().request('POST', '/configurations', {
        configuration: { name, values: parseValues(values), datastore: { type: o.datastore, ...(version ? { version } : {}) }, ...(o.description ? { description: o.description } : {}) },
      })
      printObject(o.json ? configuration : groupSummary(configuration), o)
    })
  program
    .command('configuration-list')
    .description('List configuration groups')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { configurations } = await client().request('GET', '/configurations')
      printList(configurations, [['ID', (c) => c.id], ['Name', (c) => c.name], ['Description', (c) => c.description ?? ''], ['Datastore', (c) => c.datastore_name], ['Version', (c) => c.datastore_version_name], ['Instances', (c) => c.instance_count]], o, configurations)
    })
  program
    .command('configuration-show <group>')
    .description('Show a configuration group with its values')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const { configuration } = await client().request('GET', `/configurations/${await resolveConfigurationId(client(), id)}`)
      printObject(o.json ? configuration : groupSummary(configuration), o)
    })
  program
    .command('configuration-update <group> <values>')
    .description('Replace all values of a group; every attached instance follows')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .action(async (id: string, values: string, o: { name?: string; description?: string }) => {
      await client().request('PUT', `/configurations/${await resolveConfigurationId(client(), id)}`, { configuration: { values: parseValues(values), ...(o.name ? { name: o.name } : {}), ...(o.description ? { description: o.description } : {}) } })
      console.log(`Updated configuration group ${id}; attached instances are being updated.`)
    })
  program
    .command('configuration-patch <group> <values>')
    .description('Add or change some values of a group; every attached instance follows')
    .action(async (id: string, values: string) => {
      await client().request('PATCH', `/configurations/${await resolveConfigurationId(client(), id)}`, { configuration: { values: parseValues(values) } })
      console.log(`Patched configuration group ${id}; attached instances are being updated.`)
    })
  program
    .command('configuration-delete <group>')
    .description('Delete a configuration group (refused while attached)')
    .action(async (id: string) => {
      await client().request('DELETE', `/configurations/${await resolveConfigurationId(client(), id)}`)
      console.log(`Deleted configuration group ${id}.`)
    })
  program
    .command('configuration-instances <group>')
    .description('List the instances a group is attached to')
    .option('--json', 'print JSON')
    .action(async (id: string, o: Opts) => {
      const { instances } = await client().request('GET', `/configurations/${await resolveConfigurationId(client(), id)}/instances`)
      printList(instances, [['ID', (i) => i.id], ['Name', (i) => i.name]], o, instances)
    })
  program
    .command('configuration-attach <instance> <group>')
    .description('Attach a configuration group to an instance')
    .action(async (instance: string, group: string) => {
      const id = await resolveInstanceId(client(), instance)
      await client().request('PUT', `/instances/${id}`, { instance: { configuration: await resolveConfigurationId(client(), group) } })
      console.log(`Attaching configuration group ${group} to instance ${id}.`)
    })
  program
    .command('configuration-detach <instance>')
    .description('Detach the configuration group of an instance; its values return to the defaults')
    .action(async (instance: string) => {
      const id = await resolveInstanceId(client(), instance)
      await client().request('PUT', `/instances/${id}`, { instance: { configuration: null } })
      console.log(`Detaching the configuration group of instance ${id}.`)
    })
  program
    .command('configuration-default <instance>')
    .description('Show the configuration in effect on an instance')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const id = await resolveInstanceId(client(), instance)
      printObject((await client().request('GET', `/instances/${id}/configuration`)).instance.configuration, o)
    })
  program
    .command('configuration-parameter-list <version>')
    .description('List the parameters a configuration group may set')
    .requiredOption('--datastore <datastore>', 'datastore of the version')
    .option('--json', 'print JSON')
    .action(async (version: string, o: Opts & { datastore: string }) => {
      const r = await client().request('GET', `/datastores/${encodeURIComponent(o.datastore)}/versions/${encodeURIComponent(version)}/parameters`)
      const params = r['configuration-parameters']
      printList(params, [['Name', (p) => p.name], ['Type', (p) => p.type], ['Min Size', (p) => p.min ?? ''], ['Max Size', (p) => p.max ?? ''], ['Restart Required', (p) => p.restart_required]], o, params)
    })
  program
    .command('configuration-parameter-show <version> <parameter>')
    .description('Show one configuration parameter')
    .requiredOption('--datastore <datastore>', 'datastore of the version')
    .option('--json', 'print JSON')
    .action(async (version: string, name: string, o: Opts & { datastore: string }) => {
      printObject(await client().request('GET', `/datastores/${encodeURIComponent(o.datastore)}/versions/${encodeURIComponent(version)}/parameters/${encodeURIComponent(name)}`), o)
    })
  program
    .command('restart <instance>')
    .description('Restart an instance\'s engine (takes configuration that waits for a restart)')
    .action(async (instance: string) => {
      const id = await resolveInstanceId(client(), instance)
      await client().request('POST', `/instances/${id}/action`, { restart: {} })
      console.log(`Restarting instance ${id}.`)
    })
}
