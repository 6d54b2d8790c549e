/**
 * MySQL runs the shared datastore suite where a real MySQL server is installed. On Debian with
 * MariaDB, /usr/sbin/mysqld is MariaDB, so discovery offers no MySQL version and the suite skips.
 */
import { mysql } from '../src/guest/datastores/mysql/index.js'
import { runDatastoreSuite } from './conformance/datastore-suite.js'
import { mariadbProbe } from './helpers/engines.js'

runDatastoreSuite('mysql', {
  datastore: mysql,
  // MySQL speaks MariaDB's protocol; the probe logs in the same way.
  probe: mariadbProbe,
  unavailable: 'no MySQL server on this node (/usr/sbin/mysqld, if present, is MariaDB)',
  skip: [{ reason: 'no way to break a MySQL configuration has been checked against a real MySQL yet', tests: ['errors > a configuration the engine refuses fails the start with ENGINE_CONFIG_INVALID, not retryable'] }],
})
