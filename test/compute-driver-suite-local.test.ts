/** LocalComputeDriver runs the shared ComputeDriver suite (test/conformance/compute-driver-suite.ts) in a temporary home. */
import { mkdtemp } from 'node:fs/promises'
import { LocalComputeDriver } from '../src/compute/local/local-compute-driver.js'
import { removeTree } from '../src/guest/datastores/common/files.js'
import { runComputeDriverSuite } from './conformance/compute-driver-suite.js'

runComputeDriverSuite('local', {
  bindAddress: '127.0.0.1',
  async make() {
    const home = await mkdtemp('/tmp/coffer-compute-suite-')
    return { driver: new LocalComputeDriver(home, '127.0.0.1'), root: home, cleanup: () => removeTree(home) }
  },
})
