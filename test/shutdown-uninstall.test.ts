/**
 * Stopping everything and taking it all away, as a user does it from the quick start: `coffer
 * shutdown --all` (asked of a running server, and done directly on a home no server runs on)
 * leaves no engine of the home running and `coffer serve` brings them back; `coffer uninstall
 * --yes` leaves no process, port listener, OS account or folder of the home.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { accountsOfHome } from '../src/compute/local/accounts.js'
import { startCofferAsAdmin } from './helpers/admin-session.js'
import type { TestClient } from './helpers/api-client.js'
import { COFFER_BIN, engineMains, processesUnder, type CofferProcess } from './helpers/coffer-process.js'

const run = promisify(execFile)

/**
 * IPv4 addresses and ports something listens on (`a.b.c.d:port`; `0.0.0.0:port` for any address),
 * from /proc/net/tcp, where an address is hex in the host's (little-endian) byte order.
 */
function listeningEndpoints(): Set<string> {
  const found = new Set<string>()
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols[3] !== '0A') continue
    const [hex = '', port = '0'] = cols[1]?.split(':') ?? []
    const ip = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.')
    found.add(`${ip}:${parseInt(port, 16)}`)
  }
  return found
}

describe('shutdown --all and uninstall', () => {
  let coffer: CofferProcess
  let api: TestClient
  const ids: string[] = []
  const endpoints: string[] = []
  const coffer_ = (...args: string[]) => run(COFFER_BIN, [...args, '--home', coffer.home], { env: { ...process.env, COFFER_HOME: coffer.home }, timeout: 300_000 })
  const exited = () => new Promise((r) => (coffer.child.exitCode !== null || coffer.child.signalCode !== null ? r(undefined) : coffer.child.once('exit', r)))
  const quiet = async () => {
    const deadline = Date.now() + 30_000
    while (processesUnder(coffer.home).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    // Each straggler by pid, parent, state and command line: a failure then says which process it was.
    return processesUnder(coffer.home).flatMap((pid) => describeProcess(pid) ?? [])
  }
  const allActive = async () => {
    for (const [i, id] of ids.entries()) {
      assert.equal((await api.waitActive(id)).body.instance.status, 'ACTIVE', id)
      // The node starts engines found stopped before it serves, and its supervisor any that did not
      // come up then (two looks later): either way the engine runs again.
      const mains = () => engineMains(join(coffer.home, 'instances', id)).length
      for (const deadline = Date.now() + 20_000; mains() !== 1 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200))
      assert.equal(mains(), 1, `the engine of instance ${i} runs`)
    }
  }

  before(async () => {
    ;({ coffer, api } = await startCofferAsAdmin())
    for (const type of ['redis', 'postgresql']) {
      const r = await api.api('POST', '/instances', {
        instance: { name: `quiet-${type}`, flavorRef: '1', volume: { size: 1 }, datastore: { type }, users: [{ name: 'app', password: 'app-Passw0rd', databases: [] }] },
      })
      assert.equal(r.status, 200, JSON.stringify(r.body))
      ids.push(r.body.instance.id)
    }
    await allActive()
    for (const id of ids) {
      const inst = (await api.api('GET', `/instances/${id}`)).body.instance
      endpoints.push(`${inst.ip[0]}:${inst.port}`)
    }
  })
  after(async () => coffer?.destroy())

  it('shutdown --all asks the running server: every engine stops, then the server; serve brings them back', async () => {
    const { stdout } = await coffer_('shutdown', '--all')
    assert.match(stdout, /stopping every engine/)
    await exited()
    assert.deepEqual(await quiet(), [], 'no process of the home runs')
    await assert.rejects(fetch(coffer.url), 'the server is down')
    await coffer.restart()
    await allActive()
    // Back on their own addresses: the specs the node re-read still carry them.
    const deadline = Date.now() + 15_000
    while (!endpoints.every((e) => listeningEndpoints().has(e)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    for (const e of endpoints) assert.ok(listeningEndpoints().has(e), `an engine listens on ${e} again`)
  })

  it('shutdown --all with no server running stops the engines directly; `coffer stop` alone leaves them running', async () => {
    const { stdout } = await coffer_('stop')
    assert.match(stdout, /databases keep running/)
    await exited()
    assert.equal(processesUnder(coffer.home).length > 0, true, 'stop leaves the engines running')
    const out = await coffer_('shutdown', '--all')
    assert.match(out.stdout, /No server runs on .*: stopping its engines directly/)
    assert.match(out.stdout, /2 engine\(s\) stopped/)
    assert.deepEqual(await quiet(), [])
    await coffer.restart()
    await allActive()
  })

  it('shutdown without --all, and uninstall without --yes off a terminal, change nothing', async () => {
    await assert.rejects(coffer_('shutdown'), /give --all/)
    await assert.rejects(coffer_('uninstall'), /give --yes/)
    await allActive()
  })

  it('uninstall --yes leaves no process, port listener, OS account or folder of the home', async () => {
    const { stdout } = await coffer_('uninstall', '--yes')
    assert.match(stdout, /Removed 2 instance\(s\)/)
    await exited()
    assert.deepEqual(await quiet(), [])
    const listening = listeningEndpoints()
    for (const e of [...endpoints, `127.0.0.1:${coffer.port}`]) assert.equal(listening.has(e), false, `nothing listens on ${e}`)
    assert.deepEqual(accountsOfHome(readFileSync('/etc/passwd', 'utf8'), coffer.home), [])
    assert.equal(existsSync(coffer.home), false, 'the home is gone')
  })
})

/** The process as `ps` would show it; undefined once it has ended. */
function describeProcess(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    let cwd = '?'
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`)
    } catch {
      // not ours to read
    }
    return `pid ${pid} (parent ${ppid}, state ${state}, cwd ${cwd}): ${cmd}`
  } catch {
    return undefined
  }
}
