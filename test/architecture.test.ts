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
    const control = ['api', 'tasks', 'conductor', 'store', 'identity', 'scheduler', 'control-plane', 'compute', 'bus', 'core', 'cli']
    for (const f of sources.filter((f) => control.includes(folder(f)))) {
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec)
        const allowed = t === 'guest/protocol.js' || !t.startsWith('guest/')
        assert.ok(allowed && !t.startsWith('node/'), `${relative(SRC, f)} imports ${t}`)
      }
    }
  })

  it('the node and the control plane import nothing of each other but guest/protocol.ts and the bus', () => {
    const node = ['node', 'guest', 'compute']
    const control = ['api', 'tasks', 'conductor', 'store', 'identity', 'scheduler', 'control-plane']
    const shared = (t: string) => t === 'guest/protocol.js' || t.startsWith('bus/') || t.startsWith('core/')
    for (const f of sources) {
      const other = node.includes(folder(f)) ? control : control.includes(folder(f)) ? node : undefined
      if (!other) continue
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec)
        // Top-level files (config.ts, private-home.ts...) belong to neither role; the roles' own
        // closures below keep them from carrying one into the other.
        assert.ok(shared(t) || !other.includes(t.split('/')[0] ?? ''), `${relative(SRC, f)} imports ${t}`)
      }
    }
    // Everything each role's entry reaches, transitively: the node never reaches the state store.
    const reach = (entry: string): Set<string> => {
      const seen = new Set<string>()
      const visit = (file: string) => {
        if (seen.has(file)) return
        seen.add(file)
        for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
      }
      visit(join(SRC, entry))
      return new Set([...seen].map((f) => relative(SRC, f)))
    }
    for (const f of reach('node/start-node.ts')) {
      const top = f.split('/')[0] ?? ''
      assert.ok(f === 'guest/protocol.ts' || !control.includes(top), `the node reaches ${f}`)
      assert.ok(f.includes('/') || f === 'build-id.ts', `the node reaches ${f}, which is neither the node's nor shared`)
    }
    for (const f of reach('control-plane/start-control-plane.ts')) {
      assert.ok(f === 'guest/protocol.ts' || !node.includes(f.split('/')[0] ?? ''), `the control plane reaches ${f}`)
    }
  })

  it('the bus carries protocol messages and imports nothing of either role', () => {
    for (const f of sources.filter((f) => folder(f) === 'bus')) {
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const t = target(f, spec)
        assert.ok(t === 'guest/protocol.js' || t.startsWith('bus/') || t.startsWith('core/'), `${relative(SRC, f)} imports ${t}`)
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
