import type { Command } from 'commander'
import { resolveSettings } from '../../config.js'

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the Coffer server (API, task manager and local node) in the foreground, embedded mode')
    .option('--home <dir>', 'folder for state, volumes and credentials (default: $COFFER_HOME or ~/.local/share/coffer)')
    .option('--port <n>', 'API port (default: 8779, Trove\'s)')
    .option('--bind <addr>', 'address the API and instances listen on (default: 127.0.0.1)')
    .option('--instance-network <cidr[@iface]>', 'pool of instance addresses, each engine on its standard port (default: $COFFER_INSTANCE_NETWORK, or 127.100.0.0/16 when --bind is loopback; off: one address, a port each)')
    .action(async (o: { home?: string; port?: string; bind?: string; instanceNetwork?: string }) => {
      const settings = resolveSettings(o)
      // Loaded here, not at the top: the other commands are API clients and start faster without
      // the server's modules (the engines' drivers, the state store, the HTTP server).
      const { startServer } = await import('../../main.js')
      const server = await startServer(settings, (m) => console.error(`${new Date().toISOString()} ${m}`))
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
      const spares = Object.entries(settings.spares).filter(([, n]) => n > 0)
      console.log(spares.length > 0
        ? `Keeping spares ready for fast creates: ${spares.map(([ds, n]) => `${ds} ${n}`).join(', ')} (COFFER_SPARES=none turns this off; \`bin/coffer spare-list\` shows them).`
        : 'No spares kept (COFFER_SPARES): every create builds its engine from nothing.')
      console.log('Stop with Ctrl-C: databases keep running and are taken over at the next start.')
      const stop = () => {
        console.error('stopping (instances keep running)…')
        void server.stop().then(() => process.exit(0))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
