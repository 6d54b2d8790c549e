import { runBusSuite } from './conformance.js'
import { InProcessBus } from './in-process-bus.js'

runBusSuite('in-process', () => new InProcessBus())
