/**
 * Projects, users and roles (Keystone v3, as `openstack project|user|role ...`): giving a team its
 * own project. The cloud admin's only. Identity users are `identity-user-*` because `user-*` are
 * an instance's database users, as in the `trove` CLI.
 */
import type { Command } from 'commander'
import { ApiError, type CofferClient } from '../client.js'
import { printList, printObject } from '../output.js'

type Opts = { json?: boolean }
type Named = { id: string; name: string }

/** A project or user by id, else by its unique name, as `openstack` finds them. */
async function find(client: CofferClient, kind: 'project' | 'user', idOrName: string): Promise<Named> {
  try {
    return (await client.identity('GET', `/${kind}s/${encodeURIComponent(idOrName)}`))[kind]
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  const found = (await client.identity('GET', `/${kind}s?name=${encodeURIComponent(idOrName)}`))[`${kind}s`] as Named[]
  if (found.length === 1 && found[0]) return found[0]
  throw new Error(`no ${kind} with a name or id of '${idOrName}' exists (see \`coffer ${kind === 'project' ? 'project-list' : 'identity-user-list'}\`)`)
}

const grantPath = (project: Named, user: Named, role: string) => `/projects/${project.id}/users/${user.id}/roles/${encodeURIComponent(role)}`

export function identityCommands(program: Command, client: () => CofferClient): void {
  program
    .command('project-create <name>')
    .description('Create a project (cloud admin): a team\'s own space for instances and configuration groups')
    .option('--json', 'print JSON')
    .action(async (name: string, o: Opts) => {
      const { project } = await client().identity('POST', '/projects', { project: { name } })
      printObject({ id: project.id, name: project.name }, o)
    })
  program
    .command('project-list')
    .description('List projects (cloud admin)')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { projects } = await client().identity('GET', '/projects')
      printList(projects, [['ID', (p) => p.id], ['Name', (p) => p.name]], o, projects)
    })
  program
    .command('project-delete <project>')
    .description('Delete a project by name or id (cloud admin); refused while it has instances or configuration groups')
    .action(async (idOrName: string) => {
      const project = await find(client(), 'project', idOrName)
      await client().identity('DELETE', `/projects/${project.id}`)
      console.log(`Deleted project ${project.name}.`)
    })

  program
    .command('identity-user-create <name>')
    .description('Create a user who logs in to Coffer (cloud admin); with --project it gets the member role there')
    .requiredOption('--password <password>', 'its password, at least 8 characters')
    .option('--project <project>', 'its default project, by name or id; it gets the member role there')
    .option('--role <role>', 'a further role on --project: reader, member or admin')
    .option('--json', 'print JSON')
    .action(async (name: string, o: Opts & { password: string; project?: string; role?: string }) => {
      if (o.role && !o.project) throw new Error('--role needs --project')
      const project = o.project ? await find(client(), 'project', o.project) : undefined
      const { user } = await client().identity('POST', '/users', { user: { name, password: o.password, ...(project ? { default_project_id: project.id } : {}) } })
      if (project && o.role) await client().identity('PUT', grantPath(project, user, o.role))
      printObject({ id: user.id, name: user.name, default_project: project?.name ?? '' }, o)
    })
  program
    .command('identity-user-list')
    .description('List the users who log in to Coffer (cloud admin)')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { users } = await client().identity('GET', '/users')
      const { projects } = await client().identity('GET', '/projects')
      const projectName = (id?: string) => (projects as Named[]).find((p) => p.id === id)?.name ?? ''
      printList(users, [['ID', (u) => u.id], ['Name', (u) => u.name], ['Default project', (u) => projectName(u.default_project_id)]], o, users)
    })
  program
    .command('identity-user-delete <user>')
    .description('Delete a user by name or id (cloud admin); its tokens stop working at once')
    .action(async (idOrName: string) => {
      const user = await find(client(), 'user', idOrName)
      await client().identity('DELETE', `/users/${user.id}`)
      console.log(`Deleted user ${user.name}.`)
    })

  program
    .command('role-list')
    .description('List the roles: reader reads, member reads and writes, admin on the admin project is the cloud admin')
    .option('--json', 'print JSON')
    .action(async (o: Opts) => {
      const { roles } = await client().identity('GET', '/roles')
      printList(roles, [['Name', (r) => r.name]], o, roles)
    })
  for (const [verb, method, done] of [['add', 'PUT', 'Gave'], ['remove', 'DELETE', 'Took away']] as const) {
    program
      .command(`role-${verb} <role>`)
      .description(`${verb === 'add' ? 'Give' : 'Take away'} a user's role on a project (cloud admin)`)
      .requiredOption('--project <project>', 'project, by name or id')
      .requiredOption('--user <user>', 'user, by name or id')
      .action(async (role: string, o: { project: string; user: string }) => {
        const [project, user] = [await find(client(), 'project', o.project), await find(client(), 'user', o.user)]
        await client().identity(method, grantPath(project, user, role))
        console.log(`${done} ${user.name} the ${role} role on project ${project.name}.`)
      })
  }
  program
    .command('role-assignment-list')
    .description('List who has which role on which project (cloud admin)')
    .option('--project <project>', 'only this project, by name or id')
    .option('--user <user>', 'only this user, by name or id')
    .option('--json', 'print JSON')
    .action(async (o: Opts & { project?: string; user?: string }) => {
      const q = new URLSearchParams({ include_names: 'true' })
      if (o.project) q.set('scope.project.id', (await find(client(), 'project', o.project)).id)
      if (o.user) q.set('user.id', (await find(client(), 'user', o.user)).id)
      const { role_assignments } = await client().identity('GET', `/role_assignments?${q}`)
      printList(role_assignments, [['Role', (a) => a.role.name], ['User', (a) => a.user.name], ['Project', (a) => a.scope.project.name]], o, role_assignments)
    })
}
