import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { typedValues, validateValues, type ParameterSpec } from './configuration.js'

const catalog: ParameterSpec[] = [
  { name: 'max_connections', type: 'integer', min: 1, max: 10000, restartRequired: true },
  { name: 'random_page_cost', type: 'float', min: 0, max: 100, restartRequired: false },
  { name: 'autovacuum', type: 'boolean', restartRequired: false },
  { name: 'log_statement', type: 'string', allowed: ['none', 'ddl', 'mod', 'all'], restartRequired: false },
  { name: 'charset', type: 'string', allowed: Array.from({ length: 40 }, (_, i) => `cs${i}`), ignoreCase: true, restartRequired: false },
  { name: 'sql_mode', type: 'string', items: ['ANSI', 'TRADITIONAL', 'STRICT_ALL_TABLES'], ignoreCase: true, restartRequired: false },
  { name: 'time_zone', type: 'string', allowed: ['SYSTEM'], pattern: '[+-](?:0?[0-9]|1[0-2]):[0-5][0-9]|\\+13:00', format: 'an offset +HH:MM', ignoreCase: true, restartRequired: false },
  { name: 'events', type: 'string', pattern: '|(?=[^KE]*[KE])[KEg$lshzxetmdnA]+', format: 'letters of KEg$lshzxetmdnA with K or E', restartRequired: false },
  { name: 'free_text', type: 'string', restartRequired: false },
]

describe('configuration values', () => {
  it('normalises valid values', () => {
    assert.deepEqual(validateValues(catalog, { max_connections: '200', random_page_cost: 1.5, autovacuum: 'off', log_statement: 'ddl' }, 'pg 15'), {
      max_connections: 200,
      random_page_cost: 1.5,
      autovacuum: false,
      log_statement: 'ddl',
    })
  })
  it('names the parameter and the rule it breaks', () => {
    assert.throws(() => validateValues(catalog, { no_such: 1 }, 'pg 15'), /no_such is not supported for this datastore: pg 15/)
    assert.throws(() => validateValues(catalog, { max_connections: 'abc' }, 'pg 15'), /max_connections is not of type integer/)
    assert.throws(() => validateValues(catalog, { max_connections: 1.5 }, 'pg 15'), /not of type integer/)
    assert.throws(() => validateValues(catalog, { max_connections: 0 }, 'pg 15'), /less than the minimum allowed: 1/)
    assert.throws(() => validateValues(catalog, { max_connections: 10001 }, 'pg 15'), /greater than the maximum allowed: 10000/)
    assert.throws(() => validateValues(catalog, { autovacuum: 'maybe' }, 'pg 15'), /not of type boolean/)
    assert.throws(() => validateValues(catalog, { log_statement: 'verbose' }, 'pg 15'), /not one of: none, ddl, mod, all/)
    assert.throws(() => validateValues(catalog, { log_statement: "x'; DROP" }, 'pg 15'), /not allowed/)
  })

  it('takes only values the catalog lists, in the engine\'s own case rules', () => {
    assert.deepEqual(validateValues(catalog, { charset: 'CS3', sql_mode: 'ansi,TRADITIONAL', time_zone: 'system', events: 'KEA' }, 'x'), {
      charset: 'CS3', sql_mode: 'ansi,TRADITIONAL', time_zone: 'system', events: 'KEA',
    })
    for (const tz of ['+02:00', '-12:59', '+13:00', '+1:30', '-00:00']) assert.doesNotThrow(() => validateValues(catalog, { time_zone: tz }, 'x'), tz)
    for (const events of ['', 'K$', 'Ez', 'KEg$lshzxetmdnA']) assert.doesNotThrow(() => validateValues(catalog, { events }, 'x'), events)
    assert.doesNotThrow(() => validateValues(catalog, { sql_mode: '' }, 'x'))
    assert.throws(() => validateValues(catalog, { log_statement: 'DDL' }, 'x'), /not one of: none, ddl, mod, all/, 'case matters unless the catalog says not')
  })
  it('refuses what the probe sent, naming the parameter and what is allowed', () => {
    assert.throws(() => validateValues(catalog, { charset: 'nosuch' }, 'x'), /value 'nosuch' for the configuration parameter charset is not one of the 40 values the engine knows/)
    assert.throws(() => validateValues(catalog, { charset: '../../etc/passwd' }, 'x'), /charset is not one of/)
    for (const tz of ['+99:99', '+13:01', '-13:00', '+14:00', '01:00', 'UTC', ' +01:00', '+01:00/../x']) {
      assert.throws(() => validateValues(catalog, { time_zone: tz }, 'x'), /time_zone is not allowed: it must be one of: SYSTEM; or an offset \+HH:MM/, tz)
    }
    assert.throws(() => validateValues(catalog, { events: 'zzz' }, 'x'), /events is not allowed: it must be letters of KEg\$lshzxetmdnA with K or E/)
    assert.throws(() => validateValues(catalog, { events: 'KEq' }, 'x'), /events is not allowed/)
    assert.throws(() => validateValues(catalog, { sql_mode: 'ANSI, TRADITIONAL' }, 'x'), /item ' TRADITIONAL' in the value for the configuration parameter sql_mode is not one of: ANSI, TRADITIONAL, STRICT_ALL_TABLES/)
    assert.throws(() => validateValues(catalog, { sql_mode: 'ANSI;x' }, 'x'), /item 'ANSI;x'/)
    assert.throws(() => validateValues(catalog, { free_text: 'anything' }, 'x'), /free_text has no known format of values; it cannot be set/)
    assert.throws(() => validateValues(catalog, { charset: 'cs1\n' }, 'x'), /characters or a length that are not allowed/)
    assert.throws(() => validateValues(catalog, { charset: 'a'.repeat(1025) }, 'x'), /characters or a length that are not allowed/)
  })
})

describe('typedValues', () => {
  const catalog: ParameterSpec[] = [
    { name: 'max_connections', type: 'integer', restartRequired: true },
    { name: 'ratio', type: 'float', restartRequired: false },
    { name: 'fsync', type: 'boolean', restartRequired: true },
    { name: 'work_mem', type: 'integer', restartRequired: false },
    { name: 'policy', type: 'string', restartRequired: false },
  ]
  it('types numbers and switches reported as text, and leaves the rest as it is', () => {
    assert.deepEqual(typedValues(catalog, { max_connections: '100', ratio: '0.5', fsync: 'off', work_mem: '128MB', policy: '100', port: '5432', already: 3 }), {
      max_connections: 100,
      ratio: 0.5,
      fsync: false,
      work_mem: '128MB',
      policy: '100',
      port: '5432',
      already: 3,
    })
  })
})
