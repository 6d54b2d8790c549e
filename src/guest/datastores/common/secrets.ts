/**
 * Passwords and the guest's small secret files. Secret files live in the instance's guestDir (mode
 * 0700, only Coffer reads it), are written atomically with mode 0600, and are never logged.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CofferError } from '../../../core/errors.js'
import { writeFileAtomic } from './files.js'

/** A random URL-safe password of 32 characters (192 bits). */
export const newPassword = (): string => randomBytes(24).toString('base64url')

/** Reads `<dir>/<name>.json`; undefined when it does not exist yet. Throws on unreadable or bad JSON. */
export async function readSecret<T extends object>(dir: string, name: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(secretPath(dir, name), 'utf8')) as T
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // A JSON error message could quote the file's content: say only where it failed.
    throw new CofferError('SECRET_UNREADABLE', `A guest secret file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}).`, { retryable: false, details: secretPath(dir, name) })
  }
}

/** Replaces `<dir>/<name>.json` atomically and durably (mode 0600, owned by Coffer). */
export async function writeSecret(dir: string, name: string, value: object): Promise<void> {
  await writeFileAtomic(secretPath(dir, name), JSON.stringify(value), { mode: 0o600, durable: true })
}

const secretPath = (dir: string, name: string): string => join(dir, `${name}.json`)
