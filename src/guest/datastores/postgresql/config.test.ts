import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderPgHba } from './config.js'

describe('pg_hba.conf', () => {
  it('opens TCP to every address by default, to the allowed networks only when given', () => {
    assert.match(renderPgHba(), /host {4}all {2}all {2}0\.0\.0\.0\/0 {2}scram-sha-256\nhost {4}all {2}all {2}::\/0 {2}scram-sha-256/)
    const narrowed = renderPgHba(['127.0.0.2/32', 'fd00::/8'])
    assert.doesNotMatch(narrowed, /0\.0\.0\.0\/0|::\/0/)
    assert.match(narrowed, /host {4}all {2}all {2}127\.0\.0\.2\/32 {2}scram-sha-256\nhost {4}all {2}all {2}fd00::\/8 {2}scram-sha-256/)
    assert.match(narrowed, /^local {3}all {2}coffer_admin {2}scram-sha-256$/m, 'the service account\'s socket line stays')
    assert.throws(() => renderPgHba(['127.0.0.2/32 trust']), /not a CIDR/)
  })

  it('lets the replication account stream from anywhere, whatever the allowed networks', () => {
    const narrowed = renderPgHba(['127.0.0.2/32'])
    assert.match(narrowed, /^host {4}replication {2}coffer_replication {2}all {2}scram-sha-256$/m)
    assert.match(narrowed, /^host {4}postgres {2}coffer_replication {2}all {2}scram-sha-256$/m, 'pg_rewind reads its source over a normal connection')
    assert.doesNotMatch(narrowed, /^host\s+replication\s+all\b/m, 'no one else may stream')
  })
})
