/** Databases, users, access and root inside an instance, in the `trove` CLI's argument order. */
import type { Command } from 'commander'
import type { CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'
import { resolveInstanceId, userPath } from '../resolve.js'

type Opts = { json?: boolean; host?: string }

export function schemaCommands(program: Command, client: () => CofferClient): void {
  const at = async (instance: string, path: string) => `/instances/${await resolveInstanceId(client(), instance)}${path}`
  const send = async (method: string, instance: string, path: string, body?: unknown) => client().request(method, await at(instance, path), body)

  program
    .command('database-list <instance>')
    .description('List the databases of an instance')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const { databases } = await send('GET', instance, '/databases')
      printList(databases, [['Name', (d) => d.name]], o, databases)
    })
  program
    .command('database-create <instance> <name>')
    .description('Create a database on an instance')
    .option('--character_set <set>', 'character set (where the engine has them)')
    .option('--collate <collation>', 'collation (where the engine has them)')
    .action(async (instance: string, name: string, o: { character_set?: string; collate?: string }) => {
      await send('POST', instance, '/databases', { databases: [{ name, ...(o.character_set ? { character_set: o.character_set } : {}), ...(o.collate ? { collate: o.collate } : {}) }] })
      console.log(`Created database ${name}.`)
    })
  program
    .command('database-delete <instance> <database>')
    .description('Delete a database and everything in it')
    .action(async (instance: string, name: string) => {
      await send('DELETE', instance, `/databases/${encodeURIComponent(name)}`)
      console.log(`Deleted database ${name}.`)
    })

  program
    .command('user-list <instance>')
    .description('List the users of an instance')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => {
      const { users } = await send('GET', instance, '/users')
      printList(users, [['Name', (u) => u.name], ['Host', (u) => u.host ?? ''], ['Databases', (u) => u.databases.map((d: { name: string }) => d.name).join(', ')]], o, users)
    })
  program
    .command('user-create <instance> <name> <password>')
    .description('Create a user, optionally with access to databases')
    .option('--host <host>', 'host the user may connect from (MariaDB/MySQL; default %)')
    .option('--databases <names...>', 'databases the user may use')
    .action(async (instance: string, name: string, password: string, o: Opts & { databases?: string[] }) => {
      const user = { name, password, ...(o.host ? { host: o.host } : {}), databases: (o.databases ?? []).map((d) => ({ name: d })) }
      await send('POST', instance, '/users', { users: [user] })
      console.log(`Created user ${name}.`)
    })
  program
    .command('user-show <instance> <name>')
    .description('Show a user and its databases')
    .option('--host <host>', 'the user\'s host (MariaDB/MySQL)')
    .option('--json', 'print JSON')
    .action(async (instance: string, name: string, o: Opts) => {
      const { user } = await send('GET', instance, `/users/${userPath(name, o.host)}`)
      printObject(o.json ? user : { ...user, databases: user.databases.map((d: { name: string }) => d.name).join(', ') }, o)
    })
  program
    .command('user-update-attributes <instance> <name>')
    .description('Rename a user, change its password or host')
    .option('--host <host>', 'the user\'s current host (MariaDB/MySQL)')
    .option('--new_name <name>', 'new name')
    .option('--new_password <password>', 'new password')
    .option('--new_host <host>', 'new host (MariaDB/MySQL)')
    .action(async (instance: string, name: string, o: Opts & { new_name?: string; new_password?: string; new_host?: string }) => {
      const user = { ...(o.new_name ? { name: o.new_name } : {}), ...(o.new_password ? { password: o.new_password } : {}), ...(o.new_host ? { host: o.new_host } : {}) }
      if (Object.keys(user).length === 0) throw new Error('give at least one of --new_name, --new_password, --new_host')
      await send('PUT', instance, `/users/${userPath(name, o.host)}`, { user })
      console.log(`Updated user ${name}.`)
    })
  program
    .command('user-delete <instance> <name>')
    .description('Delete a user (what it owns is kept)')
    .option('--host <host>', 'the user\'s host (MariaDB/MySQL)')
    .action(async (instance: string, name: string, o: Opts) => {
      await send('DELETE', instance, `/users/${userPath(name, o.host)}`)
      console.log(`Deleted user ${name}.`)
    })
  program
    .command('user-grant-access <instance> <name> <databases...>')
    .description('Let a user use databases')
    .option('--host <host>', 'the user\'s host (MariaDB/MySQL)')
    .action(async (instance: string, name: string, databases: string[], o: Opts) => {
      await send('PUT', instance, `/users/${userPath(name, o.host)}/databases`, { databases: databases.map((d) => ({ name: d })) })
      console.log(`Granted ${name} access to ${databases.join(', ')}.`)
    })
  program
    .command('user-revoke-access <instance> <name> <database>')
    .description('Take a database away from a user')
    .option('--host <host>', 'the user\'s host (MariaDB/MySQL)')
    .action(async (instance: string, name: string, database: string, o: Opts) => {
      await send('DELETE', instance, `/users/${userPath(name, o.host)}/databases/${encodeURIComponent(database)}`)
      console.log(`Revoked ${name}'s access to ${database}.`)
    })
  program
    .command('user-show-access <instance> <name>')
    .description('List the databases a user may use')
    .option('--host <host>', 'the user\'s host (MariaDB/MySQL)')
    .option('--json', 'print JSON')
    .action(async (instance: string, name: string, o: Opts) => {
      const { databases } = await send('GET', instance, `/users/${userPath(name, o.host)}/databases`)
      printList(databases, [['Name', (d) => d.name]], o, databases)
    })

  program
    .command('root-enable <instance>')
    .description('Enable the engine superuser; prints its new password once')
    .option('--root_password <password>', 'use this password instead of a generated one')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts & { root_password?: string }) => {
      const { user } = await send('POST', instance, '/root', o.root_password ? { password: o.root_password } : undefined)
      printObject(user, o)
    })
  program
    .command('root-show <instance>')
    .description('Show whether root was ever enabled on an instance')
    .option('--json', 'print JSON')
    .action(async (instance: string, o: Opts) => printObject(await send('GET', instance, '/root'), o))
  program
    .command('root-disable <instance>')
    .description('Disable the engine superuser')
    .action(async (instance: string) => {
      await send('DELETE', instance, '/root')
      console.log('Root disabled.')
    })
}
