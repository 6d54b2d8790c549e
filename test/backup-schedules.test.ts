/**
 * Backup schedules on a real `coffer serve`: Coffer's own API and CLI, the seed's
 * `trove schedule-create db-inst-1 "0 0 2 ? * *" daily-bkp` verbatim through Mistral's API subset,
 * bad input refused with nothing stored, runs missed while the server was down reported after a
 * restart, and a schedule that fires: its backup completes and retention deletes the oldest.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(250)
  }
}

describe('backup schedules', () => {
  let coffer: CofferProcess
  let api: TestClient
  let scratch: string
  let instanceId: string
  let canBackUp = false

  /** The legacy `trove` CLI with what `source openrc` would export. */
  const trove = async (...args: string[]) => {
    const vars = Object.fromEntries([...readFileSync(join(coffer.home, 'openrc'), 'utf8').matchAll(/^export (\w+)='?(.*?)'?$/gm)].map((m) => [m[1], m[2]]))
    return (await run('trove', args, { env: { PATH: process.env.PATH, HOME: scratch, ...vars }, timeout: 60_000 })).stdout
  }
  const cofferCli = async (...args: string[]) => (await run(COFFER_BIN, args, { env: { PATH: process.env.PATH, HOME: scratch, COFFER_HOME: coffer.home }, timeout: 60_000 })).stdout
  const schedules = async () => (await api.api('GET', '/schedules')).body.schedules as any[]

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    scratch = mkdtempSync('/tmp/coffer-schedules-')
    const r = await api.api('POST', '/instances', { instance: { name: 'db-inst-1', flavorRef: '1', volume: { size: 1 }, datastore: { type: 'redis' } } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    instanceId = r.body.instance.id
    const inst = (await api.waitActive(instanceId)).body.instance
    assert.equal(inst.status, 'ACTIVE', JSON.stringify(inst))
    const versions = (await api.api('GET', '/datastores/redis/versions')).body.versions as any[]
    const version = (await api.api('GET', `/datastores/redis/versions/${versions[0].id}`)).body.version
    canBackUp = JSON.stringify(version).includes('"backup":true')
  })
  after(async () => {
    await coffer?.destroy()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('creates, lists, shows and deletes a schedule through Coffer\'s API', { skip: false }, async (t) => {
    if (!canBackUp) return t.skip('no datastore on this branch can be backed up yet')
    const r = await api.api('POST', `/instances/${instanceId}/schedules`, { schedule: { pattern: '0 0 2 ? * *', name: 'daily-bkp', keep_last: 7, verify: true } })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const s = r.body.schedule
    assert.equal(s.pattern, '0 0 2 ? * *')
    assert.equal(s.keep_last, 7)
    assert.equal(s.verify, true)
    assert.match(s.next_run, /^\d{4}-\d\d-\d\dT02:00:00$/)
    assert.ok(Date.parse(`${s.next_run}Z`) > Date.now() && Date.parse(`${s.next_run}Z`) <= Date.now() + 86_400_000)
    assert.deepEqual((await api.api('GET', `/instances/${instanceId}/schedules`)).body.schedules.map((x: any) => x.id), [s.id])
    const shown = (await api.api('GET', `/schedules/${s.id}`)).body.schedule
    assert.deepEqual(shown.runs, [])
    assert.equal((await api.api('DELETE', `/schedules/${s.id}`)).status, 202)
    assert.equal((await api.api('GET', `/schedules/${s.id}`)).status, 404)
  })

  it('refuses bad input in Trove\'s shape and stores nothing', async () => {
    const post = (schedule: Record<string, unknown>, id = instanceId) => api.api('POST', `/instances/${id}/schedules`, { schedule: { pattern: '0 2 * * *', name: 'n', ...schedule } })
    const refused = async (schedule: Record<string, unknown>, status: number, re: RegExp, id?: string) => {
      const r = await post(schedule, id)
      assert.equal(r.status, status, JSON.stringify(r.body))
      const fault = Object.values(r.body)[0] as { code: number; message: string }
      assert.equal(fault.code, status)
      assert.match(fault.message, re)
    }
    await refused({ pattern: 'every day' }, 400, /has 2 field.*5 fields/)
    await refused({ pattern: '0 0 25 * * *' }, 400, /not a valid cron pattern: Invalid value for hour/)
    await refused({ pattern: '0 0 2 ? * * 2027' }, 400, /has 7 field/)
    await refused({ pattern: '* * * * * *' }, 400, /more than once a minute/)
    await refused({ pattern: '0 0 0 30 2 *' }, 400, /never run/)
    await refused({ keep_last: 0 }, 400, /keep_last/)
    await refused({ keep_last: -2 }, 400, /keep_last/)
    await refused({ keep_days: 1.5 }, 400, /keep_days/)
    await refused({ keep_days: '3' }, 400, /keep_days/)
    await refused({ name: '' }, 400, /backup name/)
    await refused({}, 404, /could not be found/, '00000000-0000-4000-8000-000000000000')
    // Another project's user cannot schedule this instance (nor learn that it exists).
    const project = await api.raw('POST', '/v3/projects', { project: { name: 'others' } })
    await api.raw('POST', '/v3/users', { user: { name: 'other', password: 'other-password', default_project_id: project.body.project.id } })
    const other = new TestClient(coffer.url)
    assert.equal((await other.login('other', 'other-password', 'others')).status, 201)
    const r = await other.api('POST', `/instances/${instanceId}/schedules`, { schedule: { pattern: '0 2 * * *', name: 'n' } })
    assert.equal(r.status, 404, JSON.stringify(r.body))
    // Mistral's face answers in Mistral's shape, which mistralclient shows.
    const trigger = (over: Record<string, unknown>) => api.raw('POST', '/v2/cron_triggers', { name: 'x1', pattern: '0 0 2 ? * *', workflow_name: 'trove.backup_create', workflow_input: JSON.stringify({ instance: instanceId, name: 'n' }), ...over })
    for (const [over, re] of [
      [{ pattern: '0 0 2 ? * XYZ' }, /not a valid cron pattern/],
      [{ pattern: '0 0 2 ? * * *' }, /has 7 field/],
      [{ workflow_name: 'std.echo' }, /only the trove.backup_create workflow/],
      [{ workflow_input: '{"instance": ' }, /workflow_input must be a JSON object/],
      [{ workflow_input: JSON.stringify({ instance: instanceId, name: 'n', colour: 'red' }) }, /colour|unrecognized/i],
      [{ workflow_input: JSON.stringify({ instance: instanceId, name: 'n', keep_last: 0 }) }, /keep_last/],
      [{ remaining_executions: 3 }, /not supported/],
    ] as const) {
      const r = await trigger(over)
      assert.equal(r.status, 400, `${JSON.stringify(over)}: ${JSON.stringify(r.body)}`)
      assert.match(r.body.faultstring, re)
    }
    assert.equal((await trigger({ workflow_input: JSON.stringify({ instance: 'no-such', name: 'n' }) })).status, 404)
    const anonymous = await api.raw('GET', '/v2/cron_triggers', undefined, { 'x-auth-token': 'not-a-token' })
    assert.equal(anonymous.status, 401)
    assert.ok(anonymous.body.faultstring)
    if (!canBackUp) await refused({}, 501, /cannot be backed up, so it cannot have a backup schedule/)
    assert.deepEqual(await schedules(), [])
  })

  it('runs `trove schedule-create db-inst-1 "0 0 2 ? * *" daily-bkp` verbatim, and schedule-list, schedule-show, execution-list, schedule-delete', { skip: !existsSync('/usr/bin/trove') && 'no trove CLI' }, async (t) => {
    if (!canBackUp) return t.skip('no datastore on this branch can be backed up yet')
    const created = await trove('schedule-create', 'db-inst-1', '0 0 2 ? * *', 'daily-bkp')
    const id = /\|\s*id\s*\|\s*(\S+)/.exec(created)?.[1]
    assert.ok(id, created)
    assert.match(created, /\|\s*pattern\s*\|\s*0 0 2 \? \* \*/)
    assert.match(created, /\|\s*next_execution_time\s*\|\s*\d{4}-\d\d-\d\d 02:00:00/)
    const [s] = await schedules()
    assert.equal(s.id, id)
    assert.equal(s.instance_id, instanceId)
    assert.equal(s.name, 'daily-bkp')
    // troveclient prints these cells as Python bytes (b'...') on Python 3: its own quirk.
    assert.match(await trove('schedule-list', 'db-inst-1'), new RegExp(`${id}'?\\s*\\|\\s*(b')?daily-bkp'?\\s*\\|\\s*(b')?0 0 2 \\? \\* \\*`))
    assert.match(await trove('schedule-show', id!), /daily-bkp/)
    assert.doesNotMatch(await trove('execution-list', id!), /SUCCESS|ERROR|RUNNING/)
    await assert.rejects(trove('schedule-create', 'db-inst-1', '0 0 25 ? * *', 'bad'), (err: any) => /Invalid value for hour/.test(String(err.stderr) + String(err.stdout)))
    await assert.rejects(trove('schedule-create', 'db-inst-1', '* * * * * *', 'bad'), (err: any) => /more than once a minute/.test(String(err.stderr) + String(err.stdout)))
    assert.equal((await schedules()).length, 1)
    await trove('schedule-delete', id!)
    assert.deepEqual(await schedules(), [])
  })

  it('reports the runs missed while the server was down after a restart, in the API, `coffer schedule-show` and `trove execution-list`', async (t) => {
    if (!canBackUp) return t.skip('no datastore on this branch can be backed up yet')
    const s = (await api.api('POST', `/instances/${instanceId}/schedules`, { schedule: { pattern: '0 * * * *', name: 'hourly' } })).body.schedule
    await coffer.kill('SIGTERM')
    // As if the server had been down for the last three and a half hours.
    const due = new Date(Date.now() - 3.5 * 3_600_000)
    due.setUTCMinutes(0, 0, 0)
    const db = new Database(join(coffer.home, 'private', 'state.sqlite'))
    db.prepare('UPDATE backup_schedules SET next_run_at = ? WHERE id = ?').run(due.toISOString(), s.id)
    db.close()
    await coffer.restart()
    // Every hour from then to now (a time within the last minute would run instead: the grace).
    const expected = Math.floor((Date.now() - 60_000 - due.getTime()) / 3_600_000) + 1
    const runs = await eventually('missed runs', async () => {
      const r = (await api.api('GET', `/schedules/${s.id}`)).body.schedule
      return r.runs.length > 0 && r.runs
    })
    assert.equal(runs.filter((r: any) => r.state === 'MISSED').length, expected, JSON.stringify(runs))
    assert.ok(runs.filter((r: any) => r.state === 'MISSED').every((r: any) => /Coffer was not running/.test(r.message)), JSON.stringify(runs))
    assert.equal(runs.at(-1).scheduled_for, due.toISOString().slice(0, 19))
    const shown = (await api.api('GET', `/schedules/${s.id}`)).body.schedule
    assert.ok(Date.parse(`${shown.next_run}Z`) > Date.now(), 'the next run is planned')
    assert.match(coffer.output(), new RegExp(`${expected} run\\(s\\) missed while Coffer was not running`))
    const cli = await cofferCli('schedule-show', s.id)
    assert.equal(cli.match(/MISSED/g)?.length, expected, cli)
    if (existsSync('/usr/bin/trove')) {
      const listed = await trove('execution-list', s.id)
      assert.equal(listed.match(/ERROR/g)?.length, expected, listed)
      assert.match(listed, /Coffer was not running/)
      await trove('execution-delete', runs[0].id)
      assert.equal((await api.api('GET', `/schedules/${s.id}`)).body.schedule.runs.length, runs.length - 1)
    }
    assert.equal((await api.api('DELETE', `/schedules/${s.id}`)).status, 202)
  })

  it('fires: the run queues a backup that completes, and retention deletes the oldest', async (t) => {
    if (!canBackUp) return t.skip('no datastore on this branch can be backed up yet')
    const r = await cofferCli('schedule-create', 'db-inst-1', '* * * * *', 'minutely', '--keep-last', '1', '--json')
    const s = JSON.parse(r)
    assert.equal(s.keep_last, 1)
    const completed = async () => ((await api.api('GET', `/instances/${instanceId}/backups`)).body.backups as any[]).filter((b) => b.status === 'COMPLETED')
    const first = (await eventually('a first scheduled backup', async () => (await completed())[0], 150_000))
    assert.match(first.name, /^minutely \d{4}-\d\d-\d\dT\d\d:\d\d$/)
    await eventually('a second scheduled backup', async () => (await completed()).some((b) => b.id !== first.id), 150_000)
    await eventually('retention deletes the first', async () => (await api.api('GET', `/backups/${first.id}`)).status === 404, 60_000)
    const runs = (await api.api('GET', `/schedules/${s.id}`)).body.schedule.runs as any[]
    assert.ok(runs.filter((x) => x.state === 'SUCCESS').length >= 2, JSON.stringify(runs))
    if (existsSync('/usr/bin/trove')) assert.match(await trove('execution-list', s.id), /SUCCESS/)
    assert.match(await cofferCli('schedule-list', 'db-inst-1'), /minutely/)
    await cofferCli('schedule-delete', s.id)
  })
})
