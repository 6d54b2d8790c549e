// Runs every compiled test with node's test runner: unit tests beside their code (src/**/*.test.js)
// and the tests that drive real engines (test/*.test.js). `--unit` runs only the former.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const find = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  )

const unitOnly = process.argv.includes('--unit')
const files = [...find('dist/src'), ...(unitOnly ? [] : find('dist/test'))].sort()
// One file at a time: the engine tests start real servers and a 2-core machine is easily oversubscribed.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
