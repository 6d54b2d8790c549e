import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BadRequest } from '../core/errors.js'
import { parsePattern, planRuns } from './cron-pattern.js'

const at = (iso: string) => new Date(iso)
const NOW = at('2026-11-28T10:00:00Z')
const iso = (d: Date | undefined) => d?.toISOString()

describe('cron patterns', () => {
  it('reads the seed\'s Quartz-style "0 0 2 ? * *" (seconds first, ? = any) as daily at 02:00 UTC', () => {
    const p = parsePattern('0 0 2 ? * *', NOW)
    assert.equal(iso(p.next(NOW)), '2026-11-29T02:00:00.000Z')
    assert.equal(iso(p.next(at('2026-11-29T02:00:00Z'))), '2026-11-30T02:00:00.000Z')
  })

  it('reads plain 5-field cron the same way', () => {
    assert.equal(iso(parsePattern('0 2 * * *', NOW).next(NOW)), '2026-11-29T02:00:00.000Z')
    assert.equal(iso(parsePattern('*/15 * * * *', NOW).next(NOW)), '2026-11-28T10:15:00.000Z')
    assert.equal(iso(parsePattern('0 0 2 ? * MON', NOW).next(NOW)), '2026-11-30T02:00:00.000Z')
    assert.equal(iso(parsePattern(' 30 3 1 * * ', NOW).next(NOW)), '2026-12-01T03:30:00.000Z')
  })

  it('refuses bad patterns with a message that says how to write one', () => {
    const bad = (p: string, re: RegExp) => assert.throws(() => parsePattern(p, NOW), (e: unknown) => e instanceof BadRequest && re.test(e.message) && /5 fields/.test(e.message))
    bad('', /1 to 128 characters/)
    bad('bogus', /has 1 field/)
    bad('0 0 2 x * *', /not a valid cron pattern/)
    bad('0 0 25 * * *', /hour/)
    bad('0 0 2 ? * * 2027', /has 7 field/)
    bad('61 * * * *', /not a valid/)
    bad('* * * * * *', /more than once a minute/)
    bad('0 0 0 30 2 *', /never run|not a valid/)
  })
})

describe('planning due runs', () => {
  const daily = parsePattern('0 0 2 ? * *', NOW)
  const o = { graceMs: 60_000, maxMissed: 10 }

  it('runs a due time that is on time, misses nothing', () => {
    const plan = planRuns(daily, at('2026-11-28T02:00:00Z'), at('2026-11-28T02:00:04Z'), o)
    assert.equal(iso(plan.run), '2026-11-28T02:00:00.000Z')
    assert.deepEqual(plan.missed, [])
    assert.equal(plan.missedMore, 0)
    assert.equal(iso(plan.next), '2026-11-29T02:00:00.000Z')
  })

  it('reports every time that passed while Coffer was down as missed, newest first, and runs none late', () => {
    const plan = planRuns(daily, at('2026-11-25T02:00:00Z'), at('2026-11-28T10:00:00Z'), o)
    assert.equal(plan.run, undefined)
    assert.deepEqual(plan.missed.map(iso), ['2026-11-28T02:00:00.000Z', '2026-11-27T02:00:00.000Z', '2026-11-26T02:00:00.000Z', '2026-11-25T02:00:00.000Z'])
    assert.equal(iso(plan.next), '2026-11-29T02:00:00.000Z')
  })

  it('runs the latest when it is within the grace period, and misses the older ones', () => {
    const plan = planRuns(daily, at('2026-11-26T02:00:00Z'), at('2026-11-28T02:00:30Z'), o)
    assert.equal(iso(plan.run), '2026-11-28T02:00:00.000Z')
    assert.deepEqual(plan.missed.map(iso), ['2026-11-27T02:00:00.000Z', '2026-11-26T02:00:00.000Z'])
  })

  it('lists at most maxMissed and counts the rest', () => {
    const hourly = parsePattern('0 * * * *', NOW)
    const plan = planRuns(hourly, at('2026-11-27T00:00:00Z'), at('2026-11-28T10:30:00Z'), o)
    assert.equal(plan.missed.length, 10)
    assert.equal(iso(plan.missed[0]), '2026-11-28T10:00:00.000Z')
    assert.equal(plan.missed.length + plan.missedMore, 24 + 11)
  })
})
