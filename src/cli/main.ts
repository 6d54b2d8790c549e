/**
 * `coffer`: the command line. Every command but `serve` is a REST client of the API, like troveclient.
 */
import { Command, CommanderError } from 'commander'
import { CofferClient } from './client.js'
import { actionCommands } from './commands/actions.js'
import { backupCommands } from './commands/backups.js'
import { catalogCommands } from './commands/catalog.js'
import { configurationCommands } from './commands/configurations.js'
import { eventCommands } from './commands/events.js'
import { identityCommands } from './commands/identity.js'
import { homeCommands } from './commands/home.js'
import { instanceCommands } from './commands/instances.js'
import { logCommands } from './commands/logs.js'
import { resizeVolumeCommand } from './commands/resize-volume.js'
import { quotaCommands } from './commands/quotas.js'
import { replicaCommands } from './commands/replicas.js'
import { scheduleCommands } from './commands/schedules.js'
import { schemaCommands } from './commands/schema.js'
import { serveCommand } from './commands/serve.js'
import { spareCommands } from './commands/spares.js'
import { findCredentials } from './credentials.js'

const program = new Command('coffer')
  .description('Self-service PostgreSQL, MariaDB and Redis on your own machines, behind OpenStack Trove\'s API')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

let client: CofferClient | undefined
const lazyClient = () => (client ??= new CofferClient(findCredentials()))

serveCommand(program)
homeCommands(program)
instanceCommands(program, lazyClient)
actionCommands(program, lazyClient)
replicaCommands(program, lazyClient)
eventCommands(program, lazyClient)
resizeVolumeCommand(program, lazyClient)
catalogCommands(program, lazyClient)
schemaCommands(program, lazyClient)
logCommands(program, lazyClient)
configurationCommands(program, lazyClient)
backupCommands(program, lazyClient)
scheduleCommands(program, lazyClient)
spareCommands(program, lazyClient)
quotaCommands(program, lazyClient)
identityCommands(program, lazyClient)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode)
  console.error(`coffer: ${(err as Error).message}`)
  process.exit(1)
}
