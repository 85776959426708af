// The primary's own listening sockets with balance 'reuseport', where each slot has a socket of its own.
import { socketSuites } from './sockets-scenarios.js';

socketSuites('reuseport');
