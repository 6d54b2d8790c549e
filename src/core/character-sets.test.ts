import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCharacterSets, type CharacterSetCatalog } from './character-sets.js'

const mariadb: CharacterSetCatalog = {
  characterSets: [{ name: 'utf8mb4' }, { name: 'latin1' }, { name: 'utf8mb3', aliases: ['utf8'] }],
  collations: [
    { name: 'utf8mb4_general_ci', characterSet: 'utf8mb4' },
    { name: 'latin1_swedish_ci', characterSet: 'latin1' },
    { name: 'utf8_general_ci', characterSet: 'utf8mb3' },
  ],
  fold: 'case',
  collationFold: 'case',
}
const postgresql: CharacterSetCatalog = {
  characterSets: [{ name: 'UTF8' }, { name: 'LATIN1' }],
  collations: [{ name: 'C', characterSet: null }, { name: 'C.utf8', characterSet: 'UTF8' }],
  defaultCharacterSet: 'UTF8',
  fold: 'case-and-punctuation',
}

describe('character sets', () => {
  it('accepts what the engine has, in its spellings', () => {
    checkCharacterSets(mariadb, 'mariadb', [{ name: 'a', character_set: 'UTF8MB4', collate: 'utf8mb4_general_ci' }, { name: 'b', collate: 'latin1_swedish_ci' }, { name: 'c', character_set: 'utf8', collate: 'utf8_general_ci' }])
    checkCharacterSets(postgresql, 'postgresql', [{ name: 'a', character_set: 'utf-8' }, { name: 'b', character_set: 'LATIN1', collate: 'C' }, { name: 'c', collate: 'C.utf8' }])
  })
  it('names the database with an unknown character set or collation', () => {
    assert.throws(() => checkCharacterSets(mariadb, 'mariadb', [{ name: 'good' }, { name: 'bad', character_set: 'nosuch' }]), /'bad': mariadb has no character set 'nosuch'/)
    assert.throws(() => checkCharacterSets(mariadb, 'mariadb', [{ name: 'bad', collate: 'nosuch_ci' }]), /'bad': mariadb has no collation 'nosuch_ci'/)
  })
  it('refuses a collation of another character set', () => {
    assert.throws(() => checkCharacterSets(mariadb, 'mariadb', [{ name: 'x', character_set: 'latin1', collate: 'utf8mb4_general_ci' }]), /not one of the character set latin1/)
    // PostgreSQL: a collation alone must suit the default encoding.
    assert.throws(() => checkCharacterSets({ ...postgresql, defaultCharacterSet: 'LATIN1' }, 'postgresql', [{ name: 'x', collate: 'C.utf8' }]), /character set LATIN1/)
  })
})
