/**
 * SCRAM-SHA-256 password verifiers computed here, as `psql`'s \password does, so a password never
 * reaches the server in clear text (where a failed statement could be logged with it).
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const pbkdf2P = promisify(pbkdf2)
const ITERATIONS = 4096

/**
 * The text to put in `ALTER ROLE ... PASSWORD '<text>'`: a verifier
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802, RFC 7677) for printable
 * ASCII passwords. Others are returned unchanged, because the server normalises them (SASLprep)
 * before hashing and doing that here as well would risk a verifier no client can match.
 */
export async function passwordForServer(password: string): Promise<string> {
  if (!/^[\x20-\x7e]+$/.test(password)) return password
  const salt = randomBytes(16)
  const salted = await pbkdf2P(password, salt, ITERATIONS, 32, 'sha256')
  const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest()
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest()
  const serverKey = hmac(salted, 'Server Key')
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`
}
