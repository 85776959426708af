// What the admin interface's actions do under the command: the same as the signals, through the signal controller, each request logged.
import type { AdminActions } from '../admin/server.js';
import type { Cluster } from '../cluster.js';
import type { LogEvent } from './format.js';
import type { PrimaryUpgrade } from './primary-upgrade.js';
import type { SignalController } from './signals.js';

/** The command's upgrade of its primary, once assembled (the admin interface is made before it). */
let upgrades: PrimaryUpgrade | null = null;

/** The upgrade the admin interface's /upgrade starts, once the command has made it. */
export function useUpgrade(upgrade: PrimaryUpgrade): void {
  upgrades = upgrade;
}

/**
 * What the admin interface's /reload, /scale and /quit do under the command: the same as the signals, through
 * the signal controller, so SIGTTIN after `qilin scale 5` makes 6, and `qilin stop` ends the command with
 * status 0 like SIGTERM. Each request is logged. The cluster and the controller are made after the admin
 * server (which is one of the cluster's services), hence the getters.
 */
export function adminActions(cluster: () => Cluster, controller: () => SignalController, log: (event: LogEvent) => void): AdminActions {
  return {
    upgrade: () => {
      log({ event: 'admin', action: 'upgrade', refused: controller().stopping });
      return upgrades?.start() ?? Promise.reject(new Error('Upgrading the primary is not set up yet'));
    },
    reload: () => {
      log({ event: 'admin', action: 'reload', refused: controller().stopping });
      return cluster().reload();
    },
    scale: (workers) => {
      log({ event: 'admin', action: 'scale', workers, refused: controller().stopping });
      return controller().scale(workers);
    },
    shutdown: async () => {
      if (!controller().stopping) log({ event: 'admin', action: 'stop', refused: false });
      await controller().shutdown();
    },
  };
}
