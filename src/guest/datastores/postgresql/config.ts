/**
 * postgresql.conf and pg_hba.conf of an instance. Both are rewritten on every start, so the tuning
 * follows the flavor after a resize and a hand edit never survives. initdb's own postgresql.conf is
 * replaced, so the locale and time settings it would have written are set here.
 */
import type { InstanceContext } from '../datastore.js'
import { SERVICE_USER } from './manifest.js'
import type { PostgresqlTuning } from './tuning.js'

/** A postgresql.conf string literal; refuses line breaks, which no setting of ours needs. */
export function confString(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error('configuration values cannot contain line breaks')
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
}

/** The instance's postgresql.conf. `logDir` is an absolute folder on the volume, owned by the engine. */
export function renderPostgresqlConf(ctx: InstanceContext, tuning: PostgresqlTuning, logDir: string): string {
  const settings: [string, string][] = [
    ['listen_addresses', confString(ctx.bindAddress)],
    ['port', String(ctx.port)],
    // Coffer's service account logs in only through this socket, in a folder only the engine's account can enter.
    ['unix_socket_directories', confString(ctx.runDir)],
    ['unix_socket_permissions', '0700'],
    ['password_encryption', confString('scram-sha-256')],
    ...Object.entries(tuning).map(([k, v]): [string, string] => [k, /^\d+$/.test(v) ? v : confString(v)]),
    ['fsync', 'on'],
    ['synchronous_commit', 'on'],
    ['full_page_writes', 'on'],
    ['dynamic_shared_memory_type', 'posix'],
    ['logging_collector', 'on'],
    ['log_directory', confString(logDir)],
    // One file per weekday, overwritten a week later: logs never outgrow the volume.
    ['log_filename', confString('postgresql-%a.log')],
    ['log_truncate_on_rotation', 'on'],
    ['log_rotation_age', confString('1d')],
    ['log_rotation_size', '0'],
    ['log_file_mode', '0600'],
    ['log_line_prefix', confString('%m [%p] %q%u@%d ')],
    ['log_timezone', confString('UTC')],
    ['timezone', confString('UTC')],
    ['datestyle', confString('iso, mdy')],
    ['lc_messages', confString('C')],
    ['lc_monetary', confString('C')],
    ['lc_numeric', confString('C')],
    ['lc_time', confString('C')],
    ['default_text_search_config', confString('pg_catalog.english')],
  ]
  const lines = settings.map(([k, v]) => `${k} = ${v}`)
  return `# Written by Coffer for instance ${ctx.instanceId}; rewritten at every start.\n${lines.join('\n')}\n`
}

/**
 * Only SCRAM logins. The service account may log in only over the private socket; everyone else
 * over TCP or the socket. No trust, peer or ident lines: a process running as the engine's account
 * still needs a password.
 */
export function renderPgHba(): string {
  return [
    '# Written by Coffer; rewritten at every start.',
    '# TYPE  DATABASE  USER  ADDRESS  METHOD',
    `local   all  ${SERVICE_USER}  scram-sha-256`,
    `host    all  ${SERVICE_USER}  all  reject`,
    'local   all  all  scram-sha-256',
    'host    all  all  0.0.0.0/0  scram-sha-256',
    'host    all  all  ::/0  scram-sha-256',
    '',
  ].join('\n')
}
