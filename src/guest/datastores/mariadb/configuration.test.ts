import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { InstanceContext } from '../datastore.js'
import { cnfSetting, renderMyCnf } from './config.js'
import { validateValues } from '../../../core/configuration.js'
import { catalogFromVariables, cnfName, cnfOverrides, MARIADB_PARAMETERS, type MariadbVariableRow, refused, sameValue, sqlValue, toParameterSpec, withUtf8Aliases } from './parameters.js'
import { mariadbTuning } from './tuning.js'

const row = (over: Partial<MariadbVariableRow> & { name: string }): MariadbVariableRow => ({
  scope: 'GLOBAL', type: 'BIGINT UNSIGNED', min: null, max: null, enumValues: null, readOnly: 'NO', defaultValue: null, comment: 'Something.', ...over,
})
describe('MariaDB parameter allow-list', () => {
  it('never offers paths, listeners, security switches, code, the storage-engine rule or init-only settings', () => {
    const forbidden = [
      'local_infile', 'secure_file_priv', 'datadir', 'tmpdir', 'plugin_dir', 'general_log', 'general_log_file', 'slow_query_log_file',
      'log_error', 'log_output', 'socket', 'port', 'bind_address', 'extra_port', 'skip_networking', 'skip_name_resolve',
      'enforce_storage_engine', 'default_storage_engine', 'default_tmp_storage_engine', 'storage_engine', 'symbolic_links', 'init_file',
      'init_connect', 'secure_auth', 'require_secure_transport', 'skip_grant_tables', 'allow_suspicious_udfs', 'event_scheduler',
      'lower_case_table_names', 'innodb_page_size', 'innodb_data_home_dir', 'innodb_flush_method', 'innodb_doublewrite',
      'innodb_force_recovery', 'log_bin', 'log_bin_trust_function_creators', 'server_id', 'read_only', 'proxy_protocol_networks',
      'max_statement_time', 'lock_wait_timeout', 'sql_select_limit', 'max_join_size', 'tls_version', 'ssl_cert',
    ]
    for (const name of forbidden) assert.ok(!MARIADB_PARAMETERS.has(name), name)
    for (const name of MARIADB_PARAMETERS) {
      assert.doesNotMatch(name, /ssl|tls|_file$|_dir$|dir$|path|socket|^port$|bind|init_|plugin|password|secure|storage_engine|symbolic/, name)
      assert.match(name, /^[a-z][a-z0-9_]*$/, name)
    }
    assert.ok(MARIADB_PARAMETERS.size >= 40 && MARIADB_PARAMETERS.size <= 80, String(MARIADB_PARAMETERS.size))
    for (const name of ['max_connections', 'wait_timeout', 'innodb_buffer_pool_size', 'innodb_log_file_size', 'sql_mode', 'tx_isolation', 'slow_query_log']) {
      assert.ok(MARIADB_PARAMETERS.has(name), name)
    }
  })
})

describe('MariaDB catalog from SYSTEM_VARIABLES', () => {
  it('maps each type, keeps the engine bounds, and clamps 2^64 − 1 to an exact JavaScript number', () => {
    assert.deepEqual(toParameterSpec(row({ name: 'max_connections', min: '10', max: '100000', comment: 'Connections.' })), {
      name: 'max_connections', type: 'integer', min: 10, max: 100000, restartRequired: false, description: 'Connections.',
    })
    assert.deepEqual(toParameterSpec(row({ name: 'tmp_table_size', scope: 'SESSION', min: '0', max: '18446744073709551615', comment: null })), {
      name: 'tmp_table_size', type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, restartRequired: false,
      description: 'Unit: bytes. Takes effect in new sessions.',
    })
    for (const type of ['INT', 'BIGINT', 'INT UNSIGNED']) assert.equal(toParameterSpec(row({ name: 'x', type }))?.type, 'integer')
    assert.equal(toParameterSpec(row({ name: 'max_user_connections', type: 'INT', min: '-1' }))?.min, -1)
    assert.deepEqual(toParameterSpec(row({ name: 'long_query_time', type: 'DOUBLE', min: '0', max: '31536000' }))?.type, 'float')
    assert.deepEqual(toParameterSpec(row({ name: 'slow_query_log', type: 'BOOLEAN', enumValues: 'OFF,ON' }))?.type, 'boolean')
    const isolation = toParameterSpec(row({ name: 'tx_isolation', type: 'ENUM', enumValues: 'READ-UNCOMMITTED,READ-COMMITTED,REPEATABLE-READ,SERIALIZABLE' }))
    assert.deepEqual(isolation?.allowed, ['READ-UNCOMMITTED', 'READ-COMMITTED', 'REPEATABLE-READ', 'SERIALIZABLE'])
    assert.deepEqual(toParameterSpec(row({ name: 'sql_mode', type: 'SET', enumValues: 'ANSI,TRADITIONAL' })), {
      name: 'sql_mode', type: 'string', items: ['ANSI', 'TRADITIONAL'], ignoreCase: true, restartRequired: false, description: 'Something.',
    })
    assert.equal(toParameterSpec(row({ name: 'some_text', type: 'VARCHAR' })), undefined, 'no format known: not offered')
    assert.equal(toParameterSpec(row({ name: 'some_enum', type: 'ENUM' })), undefined, 'an ENUM without a list: not offered')
    assert.equal(toParameterSpec(row({ name: 'optimizer_switch', type: 'FLAGSET' })), undefined)
    assert.equal(toParameterSpec(row({ name: 'insert_id', scope: 'SESSION ONLY' })), undefined)
  })

  it('takes the names of character sets, collations, locales and time zones from the engine', () => {
    const names = { characterSets: ['latin1', 'utf8mb4'], collations: ['latin1_bin', 'utf8mb4_bin'], locales: ['en_US', 'de_DE'], timeZones: [] }
    for (const name of ['character_set_server', 'collation_server', 'lc_time_names', 'time_zone']) {
      assert.equal(toParameterSpec(row({ name, type: name === 'time_zone' ? 'VARCHAR' : 'ENUM' })), undefined, `${name} without the engine's names`)
    }
    const spec = (name: string) => toParameterSpec(row({ name, type: 'ENUM' }), names)
    assert.deepEqual(spec('character_set_server')?.allowed, ['latin1', 'utf8mb4'])
    assert.deepEqual(spec('collation_server')?.allowed, ['latin1_bin', 'utf8mb4_bin'])
    assert.deepEqual(spec('lc_time_names')?.allowed, ['en_US', 'de_DE'])
    const tz = toParameterSpec(row({ name: 'time_zone', type: 'VARCHAR' }), names)
    assert.deepEqual(tz?.allowed, ['SYSTEM'])
    assert.deepEqual(toParameterSpec(row({ name: 'time_zone', type: 'VARCHAR' }), { ...names, timeZones: ['Europe/Paris'] })?.allowed, ['SYSTEM', 'Europe/Paris'])
    const catalog = catalogFromVariables([row({ name: 'character_set_server', type: 'ENUM' }), row({ name: 'time_zone', type: 'VARCHAR' }),
      row({ name: 'lc_time_names', type: 'ENUM' }), row({ name: 'collation_server', type: 'ENUM' })], names)
    const ok = { character_set_server: 'UTF8MB4', collation_server: 'latin1_bin', lc_time_names: 'de_de', time_zone: '+02:00' }
    assert.deepEqual(validateValues(catalog, ok, 'mariadb'), ok)
    for (const [name, value] of [['time_zone', '+99:99'], ['character_set_server', 'nosuch'], ['lc_time_names', '../../etc/passwd'], ['collation_server', 'nosuch_ci']]) {
      assert.throws(() => validateValues(catalog, { [name!]: value }, 'mariadb'), new RegExp(`configuration parameter ${name} is not`), `${name}: ${value}`)
    }
  })

  it('adds the utf8 names 10.11 takes while old_mode has UTF8_IS_UTF8MB3', () => {
    const names = { characterSets: ['latin1', 'utf8mb3'], collations: ['utf8mb3_bin', 'utf8mb4_bin'], locales: [], timeZones: [] }
    assert.deepEqual(withUtf8Aliases(names, 'UTF8_IS_UTF8MB3'), { ...names, characterSets: ['latin1', 'utf8mb3', 'utf8'], collations: ['utf8mb3_bin', 'utf8_bin', 'utf8mb4_bin'] })
    assert.deepEqual(withUtf8Aliases(names, ''), names)
  })

  it('needs a restart exactly for READ_ONLY variables', () => {
    assert.equal(toParameterSpec(row({ name: 'innodb_log_buffer_size', readOnly: 'YES' }))?.restartRequired, true)
    assert.equal(toParameterSpec(row({ name: 'innodb_log_file_size', readOnly: 'NO' }))?.restartRequired, false)
  })

  it('keeps only allow-listed names, sorted', () => {
    const rows = [row({ name: 'wait_timeout' }), row({ name: 'datadir', type: 'VARCHAR' }), row({ name: 'autocommit', type: 'BOOLEAN' }), row({ name: 'init_connect', type: 'VARCHAR' })]
    assert.deepEqual(catalogFromVariables(rows).map((p) => p.name), ['autocommit', 'wait_timeout'])
  })
})

describe('MariaDB values for SET GLOBAL and my.cnf', () => {
  it('turns my.cnf sizes into bytes and numbers into numbers, but only for numeric variables', () => {
    assert.equal(sqlValue('256M', 'BIGINT UNSIGNED'), 268435456)
    assert.equal(sqlValue('8K', 'INT UNSIGNED'), 8192)
    assert.equal(sqlValue('1G', 'BIGINT UNSIGNED'), 2 ** 30)
    assert.equal(sqlValue('100', 'BIGINT UNSIGNED'), 100)
    assert.equal(sqlValue('0', 'BOOLEAN'), 0)
    assert.equal(sqlValue(true, 'BOOLEAN'), 'ON')
    assert.equal(sqlValue(false, 'BOOLEAN'), 'OFF')
    assert.equal(sqlValue(0.5, 'DOUBLE'), 0.5)
    assert.equal(sqlValue('utf8mb4', 'ENUM'), 'utf8mb4')
    assert.equal(sqlValue('1M', 'VARCHAR'), '1M')
  })

  it('compares values as the engine means them', () => {
    assert.ok(sameValue('4M', '4194304'))
    assert.ok(sameValue(true, 'ON') && sameValue('1', 'ON') && sameValue(false, 'OFF') && sameValue(0, 'OFF'))
    assert.ok(sameValue(8388608, '8388608') && sameValue('10.000000', 10))
    assert.ok(sameValue('UTF8MB4', 'utf8mb4'))
    assert.ok(!sameValue('8M', '4194304') && !sameValue(true, 'OFF'))
  })

  it('writes overrides as my.cnf options, mapping names that have another option name', () => {
    assert.equal(cnfName('tx_isolation'), 'transaction_isolation')
    assert.equal(cnfName('time_zone'), 'default_time_zone')
    assert.equal(cnfName('max_connections'), 'max_connections')
    assert.equal(cnfSetting(true), 'ON')
    assert.equal(cnfSetting(0.5), '0.5')
    assert.equal(cnfSetting(''), '""')
    assert.throws(() => cnfSetting('a#b'), /does not write/)
    assert.deepEqual(cnfOverrides({ max_connections: 77, tx_isolation: 'READ-COMMITTED', datadir: '/etc', character_set_server: 'latin1' }), new Map([
      ['max_connections', '77'], ['transaction_isolation', 'READ-COMMITTED'], ['character_set_server', 'latin1'], ['collation_server', null],
    ]))
    assert.deepEqual(cnfOverrides({ character_set_server: 'latin1', collation_server: 'latin1_bin' }).get('collation_server'), 'latin1_bin')
  })

  it('renders overrides in place of Coffer\'s own lines, each option once, paths untouched', () => {
    const ctx = { instanceId: 'i-1', port: 3307, bindAddress: '127.0.0.1' } as InstanceContext
    const paths = { dataDir: '/v/data', logFile: '/v/log/error.log', tmpDir: '/v/tmp', socket: '/r/s.sock', pidFile: '/r/p.pid', noFilesDir: '/v/no-files', binlogBase: '/v/binlog/binlog' }
    const overrides = cnfOverrides({ max_connections: 77, wait_timeout: 600, sql_mode: '', time_zone: '+02:00', character_set_server: 'latin1', slow_query_log: true })
    const cnf = renderMyCnf(ctx, mariadbTuning({ ramMb: 512, vcpus: 1 }), paths, [['sql_mode', 'STRICT_TRANS_TABLES']], overrides)
    const lines = cnf.split('\n')
    assert.equal(lines.filter((l) => l.startsWith('max_connections')).join(), 'max_connections = 77')
    assert.equal(lines.filter((l) => l.startsWith('sql_mode')).join(), 'sql_mode = ""')
    assert.equal(lines.filter((l) => l.startsWith('default_time_zone')).join(), 'default_time_zone = +02:00')
    assert.ok(lines.includes('wait_timeout = 600') && lines.includes('slow_query_log = ON') && lines.includes('character_set_server = latin1'))
    assert.ok(!cnf.includes('collation_server'), 'the collation follows the overridden character set')
    assert.ok(lines.includes('datadir = /v/data') && lines.includes('secure_file_priv = /v/no-files') && lines.includes('port = 3307'))
    assert.ok(lines.includes('log_bin = /v/binlog/binlog') && lines.includes('binlog_format = ROW') && /^server_id = [1-9]\d*$/m.test(cnf), 'binary logs on')
    assert.ok(lines.includes('innodb_buffer_pool_size = 256M'), 'tuning stays where not overridden')
    const keys = lines.filter((l) => l.includes(' = ')).map((l) => l.split(' = ')[0]!.replace(/-/g, '_'))
    assert.equal(new Set(keys).size, keys.length, 'no option twice')
  })

  it('refuses what my.cnf cannot hold, a buffer pool over 75% of RAM, and names off the list', () => {
    assert.equal(refused({ max_connections: 77, sql_mode: '', innodb_buffer_pool_size: 384 * 2 ** 20 }, 512), undefined)
    assert.match(refused({ sql_mode: 'ANSI;x' }, 512) ?? '', /sql_mode .* option file/)
    assert.match(refused({ time_zone: ' +02:00' }, 512) ?? '', /time_zone/)
    assert.match(refused({ innodb_buffer_pool_size: 385 * 2 ** 20 }, 512) ?? '', /75% .*: 402653184/)
    assert.match(refused({ init_connect: 'DROP DATABASE x' }, 512) ?? '', /init_connect is not supported/)
  })
})
