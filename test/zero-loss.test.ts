// Zero lost requests across reloads with balance 'kernel': every worker accepts on the shared socket.
import { zeroLossSuites } from './zero-loss-scenarios.js';

zeroLossSuites('kernel');
