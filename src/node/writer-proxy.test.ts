import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderConfig } from './writer-proxy.js'

describe('HAProxy configuration of writer addresses', () => {
  const text = renderConfig(
    [
      { address: '127.100.0.9', port: 5432, target: { host: '127.100.0.2', port: 5432 } },
      { address: '127.0.0.1', port: 30007, target: { host: '127.0.0.1', port: 30001 } },
    ],
    '/home/c/writer-proxy/admin.sock',
    'haproxy',
  )

  it('has one TCP frontend per writer address, its one server the current source', () => {
    assert.match(text, /mode tcp/)
    assert.match(text, /frontend writer_127_100_0_9_5432\n {2}bind 127\.100\.0\.9:5432\n {2}default_backend writer_127_100_0_9_5432\n/)
    assert.match(text, /backend writer_127_100_0_9_5432\n {2}server source 127\.100\.0\.2:5432\n/)
    assert.match(text, /bind 127\.0\.0\.1:30007\n/)
    assert.match(text, /server source 127\.0\.0\.1:30001\n/)
  })

  it('runs the worker unprivileged, its admin socket for root alone', () => {
    assert.match(text, /\n {2}user haproxy\n {2}group haproxy\n/)
    assert.match(text, /stats socket \/home\/c\/writer-proxy\/admin\.sock mode 600 level admin/)
  })

  it('has no frontend when no set has its source here', () => {
    assert.doesNotMatch(renderConfig([], '/s', 'haproxy'), /frontend|backend/)
  })
})
