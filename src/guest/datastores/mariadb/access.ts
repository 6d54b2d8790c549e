/**
 * An instance's access (Trove's allowed_cidrs) enforced by the server itself. MariaDB has no
 * pg_hba: its only per-address rule is a user's host, and re-hosting users would change the users
 * the API shows. So every login runs `init_connect`, which fails, and so ends the session, when the
 * client's address is outside the networks. MariaDB skips init_connect for accounts with SUPER
 * (root, once enabled, and Coffer's service account on its private socket): those are not held to
 * the list; nor is the replication account (replication.ts), whose replicas may be anywhere. IPv4 only (INET_ATON); the API refuses IPv6 entries for this engine (manifest).
 */
import { ipv4Network, parseCidr } from '../../../core/cidr.js'
import { REPLICATION_USER } from './manifest.js'

/** `text` as CHAR codes, so the statement needs no quotes in my.cnf. */
const chars = (text: string): string => `CHAR(${[...text].map((c) => c.charCodeAt(0)).join(',')})`
const LOCALHOST = chars('localhost')
/** The replication account as CURRENT_USER() names it. */
const REPLICATION_ACCOUNT = chars(`${REPLICATION_USER}@%`)

/**
 * The init_connect statement for these networks: a SET of an expression that is 0 for an allowed
 * client and otherwise a subquery of two rows, an error (1242) that MariaDB answers by closing the
 * connection (not DO, which turns the error into a warning). skip-name-resolve (config.ts) makes the host part of USER() the client's address.
 * Quote-free on purpose: my.cnf values cannot hold quotes (config.ts cnfValue).
 */
export function renderInitConnect(allowedCidrs: readonly string[]): string {
  const host = 'SUBSTRING_INDEX(USER(),CHAR(64),-1)'
  const tests = allowedCidrs.map((text) => {
    const { network, mask } = ipv4Network(parseCidr(text))
    return `(INET_ATON(${host}) & ${mask}) = ${network}`
  })
  // Replicas connect from wherever they run, as the replication account, which logs in only with its password.
  const replication = `CURRENT_USER() = ${REPLICATION_ACCOUNT}`
  return `SET @coffer_access = IF(${[`${host} = ${LOCALHOST}`, replication, ...tests].join(' OR ')}, 0, (SELECT 1 UNION SELECT 2))`
}
