// Zero lost requests across reloads with round-robin balancing: the primary accepts and hands each connection out.
import { zeroLossSuites } from './zero-loss-scenarios.js';

zeroLossSuites('round-robin');
