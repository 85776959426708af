// Zero lost requests across reloads with the default balancing: every worker accepts on the shared socket.
import { zeroLossSuites } from './zero-loss-scenarios.js';

zeroLossSuites('kernel');
