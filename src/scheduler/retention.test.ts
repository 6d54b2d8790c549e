import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { expiredBackups } from './retention.js'

const NOW = new Date('2026-11-28T10:00:00Z')
const day = (n: number) => ({ id: `b${n}`, at: new Date(NOW.getTime() - n * 86_400_000 + 1000).toISOString() })
/** Oldest first: 10 days ago ... today. */
const backups = [10, 8, 6, 4, 2, 0].map(day)
const ids = (r: { id: string }[]) => r.map((b) => b.id)

describe('retention', () => {
  it('keeps everything without a rule', () => assert.deepEqual(expiredBackups(backups, {}, NOW), []))
  it('keeps the last N', () => assert.deepEqual(ids(expiredBackups(backups, { keepLast: 2 }, NOW)), ['b10', 'b8', 'b6', 'b4']))
  it('keeps those of the last N days', () => assert.deepEqual(ids(expiredBackups(backups, { keepDays: 5 }, NOW)), ['b10', 'b8', 'b6']))
  it('keeps a backup that either rule keeps', () => {
    assert.deepEqual(ids(expiredBackups(backups, { keepLast: 4, keepDays: 3 }, NOW)), ['b10', 'b8'])
    assert.deepEqual(ids(expiredBackups(backups, { keepLast: 1, keepDays: 7 }, NOW)), ['b10', 'b8'])
  })
  it('keeps all when N is larger than what there is', () => assert.deepEqual(expiredBackups(backups, { keepLast: 100 }, NOW), []))
})
