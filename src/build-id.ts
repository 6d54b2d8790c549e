/**
 * A fingerprint of the code this process runs: a hash of the compiled files beside this one
 * (`dist/src`). Spares record it, so after an upgrade the spares that older code configured are
 * replaced rather than handed out. `COFFER_BUILD_ID` sets it instead (tests).
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export function buildId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COFFER_BUILD_ID) return env.COFFER_BUILD_ID
  const root = dirname(fileURLToPath(import.meta.url))
  const hash = createHash('sha256')
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js')) hash.update(relative(root, path)).update(readFileSync(path))
    }
  }
  walk(root)
  return hash.digest('hex').slice(0, 16)
}
