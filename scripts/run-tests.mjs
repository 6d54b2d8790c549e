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
// Two files at a time: the engine tests spend most of their time waiting on engines and heartbeats,
// and each makes its own home, ports and accounts; more than two oversubscribe a 2-core machine.
// COFFER_TEST_CONCURRENCY=1 runs them one by one (to read one file's output in order).
const concurrency = Number(process.env.COFFER_TEST_CONCURRENCY ?? 2)
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
