import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCharacterSets } from '../../../core/character-sets.js'
import { catalogOf } from './character-sets.js'

describe('MariaDB character sets', () => {
  const catalog = catalogOf(['utf8mb4', 'utf8mb3', 'latin1'], [
    { name: 'utf8mb4_general_ci', characterSet: 'utf8mb4' },
    { name: 'utf8mb3_general_ci', characterSet: 'utf8mb3' },
    { name: 'latin1_swedish_ci', characterSet: 'latin1' },
  ])
  it('takes the old utf8 names that the tables no longer show', () => {
    checkCharacterSets(catalog, 'mariadb', [{ name: 'a', character_set: 'utf8', collate: 'utf8_general_ci' }, { name: 'b', character_set: 'UTF8MB3', collate: 'utf8mb3_general_ci' }])
    assert.throws(() => checkCharacterSets(catalog, 'mariadb', [{ name: 'c', character_set: 'utf8', collate: 'utf8mb4_general_ci' }]), /not one of the character set utf8mb3/)
  })
})
