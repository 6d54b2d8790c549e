import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkCharacterSets } from '../../../core/character-sets.js'
import { catalogOf } from './character-sets.js'

describe('PostgreSQL encodings and locales', () => {
  const catalog = catalogOf(['SQL_ASCII', 'UTF8', 'LATIN1'], [{ name: 'C', characterSet: null }, { name: 'C.utf8', characterSet: 'UTF8' }])
  it('takes a locale in both spellings of its codeset, with a suitable encoding', () => {
    checkCharacterSets(catalog, 'postgresql', [{ name: 'a', collate: 'C.UTF-8' }, { name: 'b', character_set: 'latin1', collate: 'C' }, { name: 'c', character_set: 'utf8' }])
    assert.throws(() => checkCharacterSets(catalog, 'postgresql', [{ name: 'd', character_set: 'LATIN1', collate: 'C.utf8' }]), /character set LATIN1/)
    assert.throws(() => checkCharacterSets(catalog, 'postgresql', [{ name: 'e', character_set: 'SJIS' }]), /no character set 'SJIS'/)
  })
})
