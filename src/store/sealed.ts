/**
 * Secrets that must wait in the state store (a create's initial passwords, until the guest has made
 * the users) are sealed first: AES-256-GCM under a key that only the server process can read, so
 * neither the store's files, nor its WAL, nor freed pages ever hold them in the clear.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** A sealed value as it is stored: `sealed:v1:` and base64url of nonce, tag and ciphertext. */
export type Sealed = string & { readonly __sealed: unique symbol }

const PREFIX = 'sealed:v1:'
const NONCE = 12
const TAG = 16

export const isSealed = (value: string): value is Sealed => value.startsWith(PREFIX)

export interface Sealer {
  seal(plain: string): Sealed
  open(sealed: Sealed): string
}

export function sealerWith(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('a sealing key is 32 bytes')
  return {
    seal(plain) {
      const nonce = randomBytes(NONCE)
      const c = createCipheriv('aes-256-gcm', key, nonce)
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
      return `${PREFIX}${Buffer.concat([nonce, c.getAuthTag(), body]).toString('base64url')}` as Sealed
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed value')
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url')
      if (raw.length < NONCE + TAG) throw new Error('a sealed value is too short')
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE))
      d.setAuthTag(raw.subarray(NONCE, NONCE + TAG))
      // A wrong key or altered bytes fail here (GCM's tag), never as wrong plaintext.
      return Buffer.concat([d.update(raw.subarray(NONCE + TAG)), d.final()]).toString('utf8')
    },
  }
}
