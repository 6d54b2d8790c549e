import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { parse } from 'yaml'
import { mergeCofferCloud, userCloudsYamlPath } from './user-clouds-yaml.js'

const cloud = (url: string) => ({ auth_type: 'password', auth: { auth_url: `${url}/v3`, username: 'admin', password: 'pw-1234567' } })

describe("the user's clouds.yaml", () => {
  let dir: string
  let file: string
  let home: string
  beforeEach(() => {
    dir = mkdtempSync('/tmp/coffer-clouds-')
    file = join(dir, '.config', 'openstack', 'clouds.yaml')
    home = join(dir, 'coffer-home')
    mkdirSync(home)
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  const read = () => parse(readFileSync(file, 'utf8')).clouds
  const seed = (text: string) => {
    mkdirSync(join(dir, '.config', 'openstack'), { recursive: true })
    writeFileSync(file, text)
  }

  it('is found under HOME, or under an absolute XDG_CONFIG_HOME', () => {
    assert.equal(userCloudsYamlPath({ XDG_CONFIG_HOME: '/x/cfg' }), '/x/cfg/openstack/clouds.yaml')
    assert.match(userCloudsYamlPath({ XDG_CONFIG_HOME: 'relative' }), /\.config\/openstack\/clouds\.yaml$/)
  })

  it('is made with mode 0600 in a 0700 folder', async () => {
    assert.deepEqual(await mergeCofferCloud(file, cloud('http://a:1'), home), { file, outcome: 'written' })
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, '.config', 'openstack')).mode & 0o777, 0o700)
    assert.equal(read().coffer.auth.auth_url, 'http://a:1/v3')
    assert.equal(read().coffer.coffer_home, home)
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'unchanged')
  })

  it('keeps other clouds and comments', async () => {
    seed('# mine\nclouds:\n  work:\n    auth:\n      auth_url: https://keystone.example/v3\n')
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'written')
    assert.match(readFileSync(file, 'utf8'), /^# mine/)
    assert.deepEqual(Object.keys(read()), ['work', 'coffer'])
    assert.equal(statSync(file).mode & 0o777, 0o600)
  })

  it("replaces a coffer cloud that is this server's: same URL, same home, or a home that is gone", async () => {
    seed(`clouds:\n  coffer:\n    auth:\n      auth_url: http://a:1/v3\n      password: old\n`)
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'written')
    assert.equal(read().coffer.auth.password, 'pw-1234567')
    assert.equal((await mergeCofferCloud(file, cloud('http://a:2'), home)).outcome, 'written', 'same home, new port')
    seed(`clouds:\n  coffer:\n    coffer_home: ${join(dir, 'gone')}\n    auth:\n      auth_url: http://b:1/v3\n`)
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'written')
  })

  it('leaves a coffer cloud that points at another server, and a file it cannot read as YAML', async () => {
    seed('clouds:\n  coffer:\n    auth:\n      auth_url: https://team.example/v3\n')
    const kept = await mergeCofferCloud(file, cloud('http://a:1'), home)
    assert.equal(kept.outcome, 'kept')
    assert.match(kept.reason ?? '', /points at https:\/\/team\.example\/v3/)
    assert.equal(read().coffer.auth.auth_url, 'https://team.example/v3')
    seed(`clouds:\n  coffer:\n    coffer_home: ${dir}\n    auth:\n      auth_url: http://b:1/v3\n`)
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'kept', 'another home that still exists')
    seed('clouds: [unclosed\n')
    assert.equal((await mergeCofferCloud(file, cloud('http://a:1'), home)).outcome, 'kept')
    assert.equal(readFileSync(file, 'utf8'), 'clouds: [unclosed\n')
  })
})
