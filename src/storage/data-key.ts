/**
 * Envelope encryption's keys. Each backup gets a random data key; what is recorded is that key
 * wrapped (AES-256-GCM) by the master key, which only the control plane holds (backup-key.ts). The
 * wrap is bound to a label (the backup's id) as AAD, so a wrapped key copied onto another backup's
 * record does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { CofferError } from '../core/errors.js'

/** A wrapped data key as recorded: `wrapped:v1:` and base64url of nonce, tag and ciphertext. */
export type WrappedKey = string & { readonly __wrapped: unique symbol }

const PREFIX = 'wrapped:v1:'
const NONCE = 12
const TAG = 16

/** A fresh random 32-byte data key (AES-256). */
export const newDataKey = (): Buffer => randomBytes(32)

export function wrapDataKey(masterKey: Buffer, dataKey: Buffer, label: string): WrappedKey {
  checkKey(masterKey, 'master key')
  checkKey(dataKey, 'data key')
  const n = randomBytes(NONCE)
  const c = createCipheriv('aes-256-gcm', masterKey, n)
  c.setAAD(Buffer.from(label, 'utf8'))
  const body = Buffer.concat([c.update(dataKey), c.final()])
  return `${PREFIX}${Buffer.concat([n, c.getAuthTag(), body]).toString('base64url')}` as WrappedKey
}

/** The data key; OBJECT_CORRUPT naming `label` when the master key (or the label) is not the one it was wrapped with. */
export function unwrapDataKey(masterKey: Buffer, wrapped: string, label: string): Buffer {
  checkKey(masterKey, 'master key')
  const bad = (why: string): CofferError => new CofferError('OBJECT_CORRUPT', `the data key of ${label} ${why}`, { retryable: false })
  if (!wrapped.startsWith(PREFIX)) throw bad('is not a wrapped key')
  const raw = Buffer.from(wrapped.slice(PREFIX.length), 'base64url')
  if (raw.length !== NONCE + TAG + 32) throw bad('has the wrong length')
  const d = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, NONCE))
  d.setAAD(Buffer.from(label, 'utf8'))
  d.setAuthTag(raw.subarray(NONCE, NONCE + TAG))
  const key = d.update(raw.subarray(NONCE + TAG))
  try {
    d.final()
  } catch {
    throw bad('does not open with this master key (another home\'s key, or COFFER_BACKUP_KEY changed?)')
  }
  return key
}

function checkKey(key: Buffer, what: string): void {
  if (key.length !== 32) throw new Error(`a ${what} is 32 bytes`)
}
