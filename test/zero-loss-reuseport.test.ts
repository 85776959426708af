// Zero lost requests across reloads with balance 'reuseport': each slot's new worker accepts on the socket its old one did.
import { zeroLossSuites } from './zero-loss-scenarios.js';

zeroLossSuites('reuseport');
