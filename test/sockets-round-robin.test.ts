// The primary's own listening sockets with round-robin, where node:cluster's primary accepts on a copy lent to it.
import { socketSuites } from './sockets-scenarios.js';

socketSuites('round-robin');
