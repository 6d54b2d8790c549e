/**
 * The import arrows of DESIGN.md, checked rather than hoped for: the control plane never imports
 * engine code, the domain has no I/O, and engine commands are named only under guest/datastores.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { ROOT } from './helpers/coffer-process.js'

const SRC = join(ROOT, 'src')
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))

const sources = files(SRC).filter((f) => !f.endsWith('.test.ts'))
const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1] ?? '')
const folder = (file: string) => relative(SRC, file).split('/')[0] ?? ''
const target = (file: string, spec: string) => relative(SRC, resolve(dirname(file), spec))

describe('architecture', () => {
  it('core imports nothing but core, and no Node APIs', () => {
    for (const f of sources.filter((f) => folder(f) === 'core')) {
      for (const spec of importsOf(f)) {
        assert.ok(spec.startsWith('./'), `${relative(SRC, f)} imports ${spec}`)
      }
    }
  })

  it('the control plane never imports engine code', () => {
    const control = ['api', 'tasks', 'conductor', 'store', 'identity', 'compute', 'bus', 'core', 'cli']
    for (const f of sources.filter((f) => control.includes(folder(f)))) {
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec)
        const allowed = t === 'guest/protocol.js' || !t.startsWith('guest/')
        assert.ok(allowed && !t.startsWith('node/'), `${relative(SRC, f)} imports ${t}`)
      }
    }
  })

  it('engine commands are named only under guest/datastores', () => {
    const engine = /\b(pg_ctl|initdb|postgres -D|mariadbd|mariadb-install-db|redis-server|pg_basebackup|mariadb-backup)\b/
    for (const f of sources.filter((f) => !relative(SRC, f).startsWith('guest/datastores/'))) {
      assert.doesNotMatch(readFileSync(f, 'utf8'), engine, relative(SRC, f))
    }
  })
})
