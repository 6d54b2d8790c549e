import type { Command } from 'commander'
import { resolveSettings } from '../../config.js'
import type { SparePolicy } from '../../core/spares.js'

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Coffer server (API, task manager and local node) in the foreground, embedded mode')
    .option('--home <dir>', 'folder for state, volumes and credentials (default: $COFFER_HOME or ~/.local/share/coffer)')
    .option('--port <n>', 'API port (default: 8779, Trove\'s)')
    .option('--bind <addr>', 'address the API and instances listen on (default: 127.0.0.1)')
    .option('--log-level <level>', 'debug, info, warn, error or silent (default: $COFFER_LOG_LEVEL or info)')
    .option('--log-format <format>', 'json (one object a line) or pretty (default: pretty on a terminal, else json; $COFFER_LOG_FORMAT)')
    .option('--log-file <path>', 'append the log to this file, mode 0600, instead of stderr (default: $COFFER_LOG_FILE)')
    .option('--instance-network <cidr[@iface]>', 'pool of instance addresses, each engine on its standard port (default: $COFFER_INSTANCE_NETWORK, or 127.100.0.0/16 when --bind is loopback; off: one address, a port each)')
    .action(async (o: { home?: string; port?: string; bind?: string; logLevel?: string; logFormat?: string; logFile?: string; instanceNetwork?: string }) => {
      const settings = resolveSettings(o)
      const { createLogger, logAtInfo, resolveLogOptions } = await import('../../logger.js')
      const logger = createLogger(resolveLogOptions(o, process.env, process.stderr.isTTY === true))
      // Loaded here, not at the top: the other commands are API clients and start faster without
      // the server's modules (the engines' drivers, the state store, the HTTP server, the logger).
      const { startServer } = await import('../../main.js')
      const server = await startServer(settings, logAtInfo(logger), () => {
        console.log('Every engine of the home is stopped; the server exits. `coffer serve` starts them again.')
        process.exit(0)
      })
      const b = server.bootstrap
      console.log(`Coffer is serving Trove's v1.0 API at ${server.url}/v1.0 (identity at ${server.url}/v3)`)
      console.log(`Home: ${settings.home}`)
      console.log(server.instanceAddresses)
      if (b.generatedPassword) console.log(`Created user 'admin' in project '${settings.adminProject}' with password: ${b.generatedPassword}  (shown once; also in ${b.openrc})`)
      const shared = b.userClouds && b.userClouds.outcome !== 'kept'
      if (b.userClouds?.outcome === 'kept') console.log(`Left ${b.userClouds.file} as it was: ${b.userClouds.reason ?? ''}.`)
      console.log(shared
        ? `Log in: \`openstack --os-cloud coffer database instance list\` (the 'coffer' cloud is in ${b.userClouds?.file}), \`bin/coffer list\`, or \`source ${b.openrc}\` for \`trove\` (it reads only OS_* variables).`
        : `Log in: \`source ${b.openrc}\`, or OS_CLIENT_CONFIG_FILE=${b.cloudsYaml} OS_CLOUD=coffer; then \`bin/coffer list\` or \`openstack database instance list\`.`)
      console.log(describeSpares(settings.spares))
      console.log('Stop with Ctrl-C (or `coffer stop`): the databases keep running and are taken over at the next start.')
      console.log('To stop them too: `coffer shutdown --all`; to remove every instance, account and the home: `coffer uninstall`.')
      const stop = () => {
        console.error('Stopping the server. The databases keep running: `coffer shutdown --all` stops them, `coffer uninstall` removes everything.')
        void server.stop().then(() => process.exit(0))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}

function describeSpares(p: SparePolicy): string {
  const named = Object.entries(p.sizes).filter(([, n]) => n > 0).map(([ds, n]) => `${ds} ${n}`)
  const show = '(COFFER_SPARES; `bin/coffer spare-list` shows them)'
  if (p.onceUsed > 0) return `Spares: ${p.onceUsed} of each datastore once it has been created${named.length > 0 ? `; ${named.join(', ')} from the start` : ''} ${show}.`
  if (named.length > 0) return `Keeping spares ready for fast creates: ${named.join(', ')} ${show}.`
  return 'No spares kept (COFFER_SPARES=none): every create builds its engine from nothing.'
}
