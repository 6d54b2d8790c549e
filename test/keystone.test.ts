/**
 * Identity as a new user meets it: the quick start's `openstack --os-cloud coffer ...` line as
 * written (the server put the `coffer` cloud into its user's ~/.config/openstack/clouds.yaml; the
 * server's HOME is a temp folder here), then giving a team its own project with `openstack project
 * create`, `user create`, `role add`, logging in as the new user, and cleaning up; then the same
 * with `coffer`. Plus the Keystone rules the clients do not show: deleting a user ends its tokens,
 * a project with a configuration group is not deleted, a user changes only its own password.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { TestClient } from './helpers/api-client.js'
import { ADMIN_PASSWORD, COFFER_BIN, startCoffer, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)
const ALICE_PASSWORD = 'alice-Passw0rd'

describe('identity', () => {
  let coffer: CofferProcess
  before(async () => {
    coffer = await startCoffer()
  })
  after(async () => coffer?.destroy())

  // A user's own login, by OS_* variables only (what `trove` reads too).
  const loginEnv = (user: string, password: string, project: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: coffer.userHome,
    OS_AUTH_URL: `${coffer.url}/v3`,
    OS_USERNAME: user,
    OS_PASSWORD: password,
    OS_PROJECT_NAME: project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
  })

  describe('with openstack', { skip: !existsSync('/usr/bin/openstack') && 'python3-openstackclient is not installed (make test installs it)' }, () => {
    // Exactly what the user has after `coffer serve`: nothing but HOME.
    const osc = async (...args: string[]) => (await run('openstack', ['--os-cloud', 'coffer', ...args], { env: { PATH: process.env.PATH, HOME: coffer.userHome }, timeout: 60_000 })).stdout
    const json = async (...args: string[]) => JSON.parse(await osc(...args, '-f', 'json'))

    it('runs the quick start line as written', async () => {
      const file = join(coffer.userHome, '.config', 'openstack', 'clouds.yaml')
      assert.equal(statSync(file).mode & 0o777, 0o600)
      assert.equal(statSync(join(coffer.userHome, '.config', 'openstack')).mode & 0o777, 0o700)
      const { stdout } = await run('sh', ['-c', 'openstack --os-cloud coffer database instance list'], { env: { PATH: process.env.PATH, HOME: coffer.userHome }, timeout: 60_000 })
      assert.equal(stdout.trim(), '', 'no instances yet: openstack prints an empty list as nothing')
      assert.deepEqual(await json('database', 'instance', 'list'), [])
    })

    it('gives a team its own project: project create, user create, role add, then a login as the new user', async () => {
      const project = await json('project', 'create', 'team1')
      assert.equal(project.name, 'team1')
      const user = await json('user', 'create', '--project', 'team1', '--password', ALICE_PASSWORD, 'alice')
      assert.equal(user.default_project_id, project.id)
      await osc('role', 'add', '--project', 'team1', '--user', 'alice', 'member')
      assert.deepEqual((await json('role', 'list')).map((r: any) => r.Name).sort(), ['admin', 'member', 'reader'])
      assert.ok((await json('user', 'list')).some((u: any) => u.Name === 'alice'))
      assert.ok((await json('project', 'list')).some((p: any) => p.Name === 'team1'))
      assert.equal((await json('project', 'show', 'team1')).id, project.id)
      const assignments = await json('role', 'assignment', 'list', '--user', 'alice', '--project', 'team1', '--names')
      assert.deepEqual(assignments.map((a: any) => [a.Role, a.User, a.Project]), [['member', 'alice@Default', 'team1@Default']])

      const asAlice = await run('openstack', ['database', 'instance', 'list', '-f', 'json'], { env: loginEnv('alice', ALICE_PASSWORD, 'team1'), timeout: 60_000 })
      assert.deepEqual(JSON.parse(asAlice.stdout), [])
      await run('openstack', ['user', 'password', 'set', '--original-password', ALICE_PASSWORD, '--password', 'alice-New-Passw0rd'], { env: loginEnv('alice', ALICE_PASSWORD, 'team1'), timeout: 60_000 })
      await run('openstack', ['token', 'issue'], { env: loginEnv('alice', 'alice-New-Passw0rd', 'team1'), timeout: 60_000 })
      await osc('user', 'set', '--password', 'alice-Admin-Set-Passw0rd', 'alice')
      await assert.rejects(run('openstack', ['token', 'issue'], { env: loginEnv('alice', 'alice-New-Passw0rd', 'team1'), timeout: 60_000 }), 'the old password no longer works')
      await run('openstack', ['token', 'issue'], { env: loginEnv('alice', 'alice-Admin-Set-Passw0rd', 'team1'), timeout: 60_000 })

      await osc('role', 'remove', '--project', 'team1', '--user', 'alice', 'member')
      await osc('user', 'delete', 'alice')
      await osc('project', 'delete', 'team1')
      assert.ok(!(await json('user', 'list')).some((u: any) => u.Name === 'alice'), 'alice is gone')
      assert.deepEqual((await json('project', 'list')).map((p: any) => p.Name), ['admin'])
      assert.deepEqual((await json('role', 'assignment', 'list', '--names')).map((a: any) => a.User), ['admin@Default', 'admin@Default'])
    })

    it('creates a user without a project, which logs in once given a role', async () => {
      await osc('project', 'create', 'team2')
      const bob = await json('user', 'create', '--password', 'bob-Passw0rd', 'bob')
      assert.equal(bob.default_project_id, undefined)
      await osc('role', 'add', '--project', 'team2', '--user', 'bob', 'reader')
      assert.deepEqual(JSON.parse((await run('openstack', ['database', 'instance', 'list', '-f', 'json'], { env: loginEnv('bob', 'bob-Passw0rd', 'team2'), timeout: 60_000 })).stdout), [])
      await osc('user', 'delete', 'bob')
      await osc('project', 'delete', 'team2')
    })

    it('answers a missing project or role with Keystone\'s error', async () => {
      await assert.rejects(osc('project', 'show', 'no-such-project'), /No project with a name or ID of 'no-such-project' exists/)
      await assert.rejects(osc('role', 'show', 'no-such-role'), /No role with a name or ID of 'no-such-role' exists/)
    })
  })

  describe('with coffer', () => {
    const cli = async (env: NodeJS.ProcessEnv, ...args: string[]) => (await run(COFFER_BIN, args, { env, timeout: 60_000 })).stdout
    const admin = () => ({ PATH: process.env.PATH, HOME: coffer.userHome })

    it('gives a team its own project, then a login as the new user', async () => {
      const project = JSON.parse(await cli(admin(), 'project-create', 'team3', '--json'))
      assert.equal(project.name, 'team3')
      const user = JSON.parse(await cli(admin(), 'identity-user-create', 'carol', '--project', 'team3', '--password', 'carol-Passw0rd', '--role', 'reader', '--json'))
      assert.equal(user.default_project, 'team3')
      assert.match(await cli(admin(), 'role-add', 'admin', '--project', 'team3', '--user', 'carol'), /Gave carol the admin role on project team3/)
      assert.match(await cli(admin(), 'role-remove', 'admin', '--project', 'team3', '--user', 'carol'), /Took away/)
      const roles = JSON.parse(await cli(admin(), 'role-assignment-list', '--project', 'team3', '--json'))
      assert.deepEqual(roles.map((a: any) => a.role.name), ['member', 'reader'])
      assert.match(await cli(admin(), 'role-list'), /reader/)
      assert.match(await cli(admin(), 'identity-user-list'), /carol.*team3/)
      assert.match(await cli(admin(), 'project-list'), /team3/)

      assert.deepEqual(JSON.parse(await cli(loginEnv('carol', 'carol-Passw0rd', 'team3'), 'list', '--json')), [])
      await assert.rejects(cli(loginEnv('carol', 'carol-Passw0rd', 'team3'), 'project-list'), (err: any) => {
        assert.match(err.stderr, /needs the admin role on the admin project.*HTTP 403/)
        return true
      })

      assert.match(await cli(admin(), 'identity-user-delete', 'carol'), /Deleted user carol/)
      assert.match(await cli(admin(), 'project-delete', 'team3'), /Deleted project team3/)
      assert.doesNotMatch(await cli(admin(), 'identity-user-list'), /carol/)
      assert.doesNotMatch(await cli(admin(), 'project-list'), /team3/)
      await assert.rejects(cli(admin(), 'project-delete', 'team3'), /no project with a name or id of 'team3' exists/)
    })

    it('has --help on each identity command', async () => {
      for (const c of ['project-create', 'project-list', 'project-delete', 'identity-user-create', 'identity-user-list', 'identity-user-delete', 'role-list', 'role-add', 'role-remove', 'role-assignment-list']) {
        assert.match(await cli(admin(), c, '--help'), /cloud admin|roles/i, c)
      }
    })
  })

  describe('rules', () => {
    let api: TestClient
    before(async () => {
      api = new TestClient(coffer.url)
      assert.equal((await api.login('admin', ADMIN_PASSWORD, 'admin')).status, 201)
    })

    it('ends a deleted user\'s tokens, and refuses to delete a project that still has a configuration group', async () => {
      const project = (await api.raw('POST', '/v3/projects', { project: { name: 'team4' } })).body.project
      assert.equal(project.links.self, `${coffer.url}/v3/projects/${project.id}`)
      const dan = (await api.raw('POST', '/v3/users', { user: { name: 'dan', password: 'dan-Passw0rd', default_project_id: project.id } })).body.user
      const asDan = new TestClient(coffer.url)
      assert.equal((await asDan.login('dan', 'dan-Passw0rd', 'team4')).status, 201)
      const group = await asDan.api('POST', '/configurations', { configuration: { name: 'g', values: {}, datastore: { type: 'postgresql' } } })
      assert.equal(group.status, 200, JSON.stringify(group.body))

      const refused = await api.raw('DELETE', `/v3/projects/${project.id}`)
      assert.equal(refused.status, 409)
      assert.equal(refused.body.error.title, 'Conflict')
      assert.match(refused.body.error.message, /still has configuration groups g/)

      assert.equal((await api.raw('DELETE', `/v3/users/${dan.id}`)).status, 204)
      assert.equal((await asDan.api('GET', '/instances')).status, 401, 'the token died with the user')
      assert.equal((await api.raw('DELETE', `/v1.0/${project.id}/configurations/${group.body.configuration.id}`)).status, 202)
      assert.equal((await api.raw('DELETE', `/v3/projects/${project.id}`)).status, 204)
      assert.equal((await api.raw('GET', `/v3/projects/${project.id}`)).status, 404)
    })

    it('lets a user show itself and change its own password, nothing more', async () => {
      const project = (await api.raw('POST', '/v3/projects', { project: { name: 'team5' } })).body.project
      const eve = (await api.raw('POST', '/v3/users', { user: { name: 'eve', password: 'eve-Passw0rd', default_project_id: project.id } })).body.user
      const asEve = new TestClient(coffer.url)
      await asEve.login('eve', 'eve-Passw0rd', 'team5')
      assert.equal((await asEve.raw('GET', `/v3/users/${eve.id}`)).status, 200)
      assert.equal((await asEve.raw('GET', '/v3/users')).status, 403)
      assert.equal((await asEve.raw('PATCH', `/v3/users/${eve.id}`, { user: { password: 'eve-Other-Passw0rd' } })).status, 403)
      assert.equal((await asEve.raw('POST', `/v3/users/${api.projectId}/password`, { user: { password: 'x-Passw0rd-x', original_password: 'eve-Passw0rd' } })).status, 403)
      const wrong = await asEve.raw('POST', `/v3/users/${eve.id}/password`, { user: { password: 'eve-New-Passw0rd', original_password: 'not-it-at-all' } })
      assert.equal(wrong.status, 401)
      assert.equal((await asEve.raw('POST', `/v3/users/${eve.id}/password`, { user: { password: 'eve-New-Passw0rd', original_password: 'eve-Passw0rd' } })).status, 204)
      assert.equal((await asEve.raw('GET', `/v3/users/${eve.id}`)).status, 401, 'a password change ends the old sessions')
      assert.equal((await new TestClient(coffer.url).login('eve', 'eve-New-Passw0rd', 'team5')).status, 201)
      assert.equal((await api.raw('DELETE', `/v3/users/${eve.id}`)).status, 204)
      assert.equal((await api.raw('DELETE', `/v3/projects/${project.id}`)).status, 204)
    })

    it('keeps the admin project and the caller\'s own user', async () => {
      const me = (await api.raw('GET', '/v3/users?name=admin')).body.users[0]
      assert.equal((await api.raw('DELETE', `/v3/users/${me.id}`)).status, 403)
      assert.equal((await api.raw('DELETE', `/v3/projects/${api.projectId}`)).status, 403)
      assert.deepEqual((await api.raw('GET', '/v3/domains?name=Default')).body.domains.map((d: any) => d.id), ['default'])
      assert.equal((await api.raw('GET', '/v3/domains/other')).status, 404)
    })
  })
})
