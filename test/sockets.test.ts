// The primary's own listening sockets with balance 'kernel', where the workers accept on copies of them.
import { socketSuites } from './sockets-scenarios.js';

socketSuites('kernel');
