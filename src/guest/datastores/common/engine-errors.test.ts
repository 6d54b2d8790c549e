import assert from 'node:assert/strict'
import { mkdtemp, appendFile, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CofferError } from '../../../core/errors.js'
import { classifyStartFailure, engineExited, serviceLoginFailed, spawnFailed } from './engine-errors.js'
import { logSizes, tailFile } from './log-tail.js'

describe('classifyStartFailure', () => {
  const cases: [string, string, boolean][] = [
    // PostgreSQL 15
    ['LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\nWARNING:  could not create listen socket for "127.0.0.1"\nFATAL:  could not create any TCP/IP sockets', 'PORT_IN_USE', false],
    // MariaDB 10.11
    ["[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use", 'PORT_IN_USE', false],
    // Redis 7.0
    ['# Warning: Could not create server TCP listening socket 127.0.0.1:6400: bind: Address already in use', 'PORT_IN_USE', false],
    ['FATAL:  could not write lock file "postmaster.pid": No space left on device', 'DISK_FULL', false],
    ['LOG:  invalid value for parameter "work_mem": "lots"\nFATAL:  configuration file "/v/data/postgresql.conf" contains errors', 'ENGINE_CONFIG_INVALID', false],
    ["*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 3\n>>> 'maxmemory lots'\nBad directive or wrong number of arguments", 'ENGINE_CONFIG_INVALID', false],
    ["[ERROR] /usr/sbin/mariadbd: unknown variable 'no_such_setting=1'", 'ENGINE_CONFIG_INVALID', false],
    ["/usr/sbin/mariadbd: Character set 'nosuch' is not a compiled character set and is not specified in the '/usr/share/mysql/charsets/Index.xml' file\n[ERROR] Aborting", 'ENGINE_CONFIG_INVALID', false],
    ['FATAL:  data directory "/v/data" has invalid permissions', 'ENGINE_START_FAILED', true],
    ['FATAL:  could not open file "global/pg_control": Permission denied', 'ENGINE_START_FAILED', false],
    ['(no log)', 'ENGINE_START_FAILED', true],
  ]
  for (const [log, code, retryable] of cases) {
    it(`${code}${retryable ? ' (retryable)' : ''}: ${log.split('\n').at(-1)?.slice(0, 60)}`, () => {
      assert.deepEqual({ ...classifyStartFailure(log), reason: undefined }, { code, retryable, reason: undefined })
    })
  }

  it('keeps the log in details, out of the message', () => {
    const err = engineExited('Redis', 'i-1', 'secret path /v/log/redis.log: Address already in use')
    assert.equal(err.code, 'PORT_IN_USE')
    assert.equal(err.message, 'Redis of instance i-1 exited while starting: its port is in use by another process.')
    assert.match(err.details ?? '', /Address already in use/)
  })
})

describe('spawnFailed and serviceLoginFailed', () => {
  it('calls a missing binary BINARY_MISSING, not retryable', () => {
    const err = spawnFailed('/usr/lib/postgresql/99/bin/postgres', Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }))
    assert.equal(err.code, 'BINARY_MISSING')
    assert.equal(err.retryable, false)
    assert.doesNotMatch(err.message, /\//, 'no host path in the message')
    assert.equal(spawnFailed('x', Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' })).retryable, true)
  })

  it('tells a refused login (final) from an engine that does not answer (retryable), and passes others through', () => {
    const refused = serviceLoginFailed('PostgreSQL', 'i-1', new Error('password authentication failed'), 'refused') as CofferError
    assert.equal(refused.code, 'ENGINE_AUTH_FAILED')
    assert.equal(refused.retryable, false)
    const down = serviceLoginFailed('PostgreSQL', 'i-1', new Error('connect ECONNREFUSED'), 'unreachable') as CofferError
    assert.equal(down.code, 'ENGINE_UNREACHABLE')
    assert.equal(down.retryable, true)
    const other = new Error('database "x" does not exist')
    assert.equal(serviceLoginFailed('PostgreSQL', 'i-1', other, 'other'), other)
  })
})

describe('tailFile from a mark', () => {
  it('reads only what was written after the mark, or all of a file that was replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-tail-'))
    try {
      const log = join(dir, 'engine.log')
      await writeFile(log, 'old: Address already in use\n')
      const marks = await logSizes([log, join(dir, 'missing.log')])
      assert.equal(marks.get(join(dir, 'missing.log')), 0)
      assert.equal(await tailFile(log, 15, marks.get(log)), '(empty log)')
      await appendFile(log, 'new: invalid value for parameter\n')
      assert.equal(await tailFile(log, 15, marks.get(log)), 'new: invalid value for parameter')
      await writeFile(log, 'short\n')
      assert.equal(await tailFile(log, 15, marks.get(log)), 'short')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('toolFailed', () => {
  it("keeps a tool's output in details, calls a full disk DISK_FULL, and lets a cancel through", async () => {
    const { toolFailed } = await import('./engine-errors.js')
    const failed = Object.assign(new Error('Command failed: /usr/lib/postgresql/15/bin/initdb -D /v/data'), { code: 1, stderr: 'initdb: error: could not create directory "/v/data": No space left on device\n' })
    const err = toolFailed('/usr/lib/postgresql/15/bin/initdb', failed) as CofferError
    assert.equal(err.code, 'DISK_FULL')
    assert.equal(err.retryable, false)
    assert.equal(err.message, 'initdb failed.')
    assert.match(err.details ?? '', /No space left/)
    const plain = toolFailed('initdb', Object.assign(new Error('Command failed'), { code: 1, stderr: 'something odd' })) as CofferError
    assert.deepEqual([plain.code, plain.retryable], ['ENGINE_START_FAILED', true])
    assert.equal((toolFailed('initdb', Object.assign(new Error('spawn initdb ENOENT'), { code: 'ENOENT' })) as CofferError).code, 'BINARY_MISSING')
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' })
    assert.equal(toolFailed('initdb', abort), abort)
  })
})
