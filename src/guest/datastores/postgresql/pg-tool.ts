/**
 * PostgreSQL's own client tools (pg_basebackup, pg_rewind, pg_controldata) run to completion as
 * the instance's OS account. A password reaches a tool through a passfile made for the one run
 * (mode 0600, owned by the instance's account, in its private runDir) and removed afterwards: never
 * on a command line, which every local user can read.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { toolFailed } from '../common/engine-errors.js'
import { writeFileAtomic } from '../common/files.js'
import { runningAsRoot } from '../common/os-account.js'
import { ENGINE_ENV } from '../common/process.js'
import type { InstanceContext } from '../datastore.js'
import { binDir } from './manifest.js'

const execFileP = promisify(execFile)

/** A server and the account to log in to it as. */
export interface Login {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
}

/** A field of a .pgpass line. */
const passField = (v: string): string => v.replace(/\\/g, '\\\\').replace(/:/g, '\\:')

/**
 * Runs `tool` from the instance's PostgreSQL version as its account; with `login`, its password in
 * a passfile. `timeoutMs` 0: no limit (a seed of a large source). Failures carry the tool's output
 * in details only.
 */
export async function runTool(
  ctx: InstanceContext,
  tool: string,
  args: readonly string[],
  options: { readonly login?: Login; readonly timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const command = join(binDir(ctx.version), tool)
  const env: Record<string, string> = { ...ENGINE_ENV }
  let passfile: string | undefined
  if (options.login) {
    const { host, port, user, password } = options.login
    passfile = join(ctx.runDir, `.pgpass-${randomBytes(6).toString('hex')}`)
    await writeFileAtomic(passfile, `${passField(host)}:${port}:*:${passField(user)}:${passField(password)}\n`, { mode: 0o600, account: ctx.account })
    env['PGPASSFILE'] = passfile
  }
  try {
    return await execFileP(command, [...args], {
      cwd: '/',
      env,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(runningAsRoot() ? { uid: ctx.account.uid, gid: ctx.account.gid } : {}),
    })
  } catch (err) {
    throw toolFailed(command, err)
  } finally {
    if (passfile) await rm(passfile, { force: true })
  }
}

/** pg_controldata's fields ("Latest checkpoint location" → "0/3000028"). */
export async function controlData(ctx: InstanceContext, dataDir: string): Promise<Map<string, string>> {
  const { stdout } = await runTool(ctx, 'pg_controldata', [dataDir])
  const fields = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  return fields
}
