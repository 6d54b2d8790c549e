/**
 * A real S3-compatible server for tests: OpenStack Swift from Debian's packages (account, container
 * and object servers on one device in a temp folder, and a proxy with s3api + tempauth), on free
 * ports of 127.0.0.1. Follows shared/ENGINE-NOTES.md: the backends start first and their ports are
 * awaited before the proxy starts (a proxy that meets refused connections error-limits the only
 * device for 60 s); swift.conf is read from the temp folder through `swift_dir`, so nothing under
 * /etc is touched. `tls: true` gives the proxy a self-signed certificate for `localhost`
 * (`DNS:localhost`), which pgBackRest needs (it talks HTTPS only to S3); `caFile` is that certificate.
 * `stop()` stops every process and removes the folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './guest-context.js'

export interface Swift {
  /** `http(s)://localhost:<port>` or `http://127.0.0.1:<port>`. */
  readonly endpoint: string
  /** s3api's `location`: the region clients must sign with. */
  readonly region: string
  /** tempauth's S3 key pair (`account:user` and its key). */
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** The self-signed certificate to trust (with `tls`). */
  readonly caFile?: string
  readonly dir: string
  stop(): Promise<void>
}

const SERVERS = ['account', 'container', 'object'] as const
const BINARIES = ['swift-account-server', 'swift-container-server', 'swift-object-server', 'swift-proxy-server']
const PYTHON = '/usr/bin/python3' // Debian's, where the swift module is (not a pyenv shim's)

/** Why Swift cannot start here, or undefined when it can. */
export function swiftMissing(): string | undefined {
  const absent = BINARIES.filter((b) => !existsSync(`/usr/bin/${b}`))
  if (absent.length) return `OpenStack Swift is not installed (${absent.join(', ')} missing): scripts/install-system-deps.sh --test installs it`
  if (spawnSync(PYTHON, ['-c', 'import swift.common.ring']).status !== 0) return `${PYTHON} cannot import swift (python3-swift missing)`
  return undefined
}

export async function startSwift(options: { tls?: boolean } = {}): Promise<Swift> {
  const dir = await mkdtemp('/tmp/coffer-swift-')
  const procs: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    process.off('exit', killAll)
    await Promise.all(procs.map((p) => stopProcess(p)))
    await rm(dir, { recursive: true, force: true })
  }
  const killAll = (): void => procs.forEach((p) => p.exitCode === null && p.kill('SIGKILL'))
  process.on('exit', killAll)
  try {
    const ports = { account: await freePort(), container: await freePort(), object: await freePort(), proxy: await freePort() }
    await mkdir(join(dir, 'devices', 'd1'), { recursive: true })
    await writeFile(join(dir, 'swift.conf'), swiftConf())
    buildRings(dir, ports)
    const user = userInfo().username
    for (const s of SERVERS) {
      await writeFile(join(dir, `${s}-server.conf`), backendConf(s, dir, ports[s], user))
      procs.push(launch(`swift-${s}-server`, join(dir, `${s}-server.conf`), dir, s))
    }
    await Promise.all(SERVERS.map((s) => waitForPort(ports[s], procs, dir)))
    let caFile: string | undefined
    if (options.tls) caFile = makeCertificate(dir)
    await writeFile(join(dir, 'proxy-server.conf'), proxyConf(dir, ports.proxy, user, !!caFile))
    procs.push(launch('swift-proxy-server', join(dir, 'proxy-server.conf'), dir, 'proxy'))
    await waitForPort(ports.proxy, procs, dir)
    const endpoint = caFile ? `https://localhost:${ports.proxy}` : `http://127.0.0.1:${ports.proxy}`
    return { endpoint, region: 'us-east-1', accessKeyId: 'test:tester', secretAccessKey: 'testing', ...(caFile ? { caFile } : {}), dir, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function launch(binary: string, conf: string, dir: string, name: string): ChildProcess {
  // -v: log to the console (kept in <name>.log) instead of syslog.
  const p = spawn(`/usr/bin/${binary}`, [conf, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const log: Buffer[] = []
  const keep = (b: Buffer): void => void (log.length < 2000 && log.push(b))
  p.stdout?.on('data', keep)
  p.stderr?.on('data', keep)
  p.on('exit', () => void writeFile(join(dir, `${name}.log`), Buffer.concat(log)).catch(() => undefined))
  ;(p as ChildProcess & { logText?: () => string }).logText = () => Buffer.concat(log).toString('utf8').slice(-3000)
  return p
}

async function waitForPort(port: number, procs: readonly ChildProcess[], dir: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const dead = procs.find((p) => p.exitCode !== null)
    if (dead) throw new Error(`a Swift server (${dead.spawnargs[0]}) exited with ${dead.exitCode}: ${(dead as ChildProcess & { logText?: () => string }).logText?.() ?? ''} (folder ${dir})`)
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (open) return
    await sleep(100)
  }
  throw new Error(`Swift did not listen on port ${port} within 30 s`)
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
  p.kill('SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)])
  if (timedOut) {
    p.kill('SIGKILL')
    await exited
  }
}

/** One replica, one device, part power 8: rings for all three servers in one Python call (~1 s). */
function buildRings(dir: string, ports: Record<(typeof SERVERS)[number], number>): void {
  const script = `
import sys
from swift.common.ring import RingBuilder
d = sys.argv[1]
for name, port in zip(('account', 'container', 'object'), map(int, sys.argv[2:5])):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd1', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.save(f'{d}/{name}.builder')
    b.get_ring().save(f'{d}/{name}.ring.gz')
`
  const r = spawnSync(PYTHON, ['-c', script, dir, String(ports.account), String(ports.container), String(ports.object)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`building Swift's rings failed: ${r.stderr}`)
}

function makeCertificate(dir: string): string {
  const cert = join(dir, 'proxy.crt')
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'proxy.key'), '-out', cert],
    { encoding: 'utf8' },
  )
  if (r.status !== 0) throw new Error(`making Swift's self-signed certificate failed: ${r.stderr}`)
  return cert
}

const swiftConf = (): string => `[swift-hash]
swift_hash_path_suffix = ${randomBytes(8).toString('hex')}
swift_hash_path_prefix = ${randomBytes(8).toString('hex')}

[storage-policy:0]
name = Policy-0
default = yes
`

const backendConf = (server: string, dir: string, port: number, user: string): string => `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
devices = ${join(dir, 'devices')}
mount_check = false
swift_dir = ${dir}
user = ${user}
workers = 0
log_level = WARNING

[pipeline:main]
pipeline = ${server}-server

[app:${server}-server]
use = egg:swift#${server}
`

const proxyConf = (dir: string, port: number, user: string, tls: boolean): string => `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
swift_dir = ${dir}
user = ${user}
workers = 0
log_level = WARNING
${tls ? `cert_file = ${join(dir, 'proxy.crt')}\nkey_file = ${join(dir, 'proxy.key')}\n` : ''}
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# One device only: never error-limit it for a refused connection or two.
error_suppression_limit = 100000

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`
