import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { validateValues, type ParameterSpec } from './configuration.js'

const catalog: ParameterSpec[] = [
  { name: 'max_connections', type: 'integer', min: 1, max: 10000, restartRequired: true },
  { name: 'random_page_cost', type: 'float', min: 0, max: 100, restartRequired: false },
  { name: 'autovacuum', type: 'boolean', restartRequired: false },
  { name: 'log_statement', type: 'string', allowed: ['none', 'ddl', 'mod', 'all'], restartRequired: false },
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
})
