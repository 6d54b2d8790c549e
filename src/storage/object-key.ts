/**
 * Which keys an ObjectStore takes. The rules are the fs driver's (a key becomes a path under its
 * root), applied to every driver so a key that works on S3 also works on fs.
 */
import { BadRequest } from '../core/errors.js'

const MAX_KEY_BYTES = 1024 // S3's limit

/**
 * Throws OBJECT_KEY_INVALID unless `key` is 1-1024 bytes of printable characters in non-empty
 * `/`-separated segments, none of which starts with a dot (no `.`, `..`, nor the fs driver's
 * partial files) or holds a backslash. A prefix (`allowTrailingSlash`) may end with `/`.
 */
export function checkObjectKey(key: string, what = 'object key', allowTrailingSlash = false): void {
  const bad = (why: string): never => {
    throw new BadRequest(`${what} ${JSON.stringify(key.slice(0, 80))} is refused: ${why}`, 'OBJECT_KEY_INVALID')
  }
  if (typeof key !== 'string' || key.length === 0) bad('it is empty')
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) bad(`it is longer than ${MAX_KEY_BYTES} bytes`)
  // Control characters (C0, DEL, C1), lone surrogates and the Unicode line separators could split log lines or paths.
  if (/[\p{Cc}\p{Cs}\u2028\u2029]/u.test(key)) bad('it holds a control character')
  if (key.includes('\\')) bad('it holds a backslash')
  if (key.startsWith('/')) bad('it is absolute')
  const segments = (allowTrailingSlash && key.endsWith('/') ? key.slice(0, -1) : key).split('/')
  for (const s of segments) {
    if (s === '') bad('it has an empty segment (//, or a trailing /)')
    if (s.startsWith('.')) bad('a segment starts with a dot (., .. and hidden names are not keys)')
  }
}

/** A list prefix: '' (everything) or what a key may start with. */
export function checkObjectPrefix(prefix: string): void {
  if (prefix === '') return
  checkObjectKey(prefix, 'object prefix', true)
}
