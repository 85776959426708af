// The admin client's address and credentials from the config file the server reads, for `qilin status` and the rest without `--admin`.
import path from 'node:path';
import { clientAddress, parseAdminAddress } from '../admin/address.js';
import { type ConfiguredTarget, MISSING_ADMIN } from './admin-command.js';
import { InvalidOptionError } from '../errors.js';
import { adminFrom } from './admin-settings.js';
import { findConfigFile, loadConfigFile } from './config.js';
import { CliError } from './errors.js';
import { displayName, renameError } from './names.js';

type Env = Readonly<Record<string, string | undefined>>;

const secret = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The admin interface the server started in `cwd` (or with `--config <given>`) opens: the same file, read
 * the same way (`findConfigFile`, `loadConfigFile`, `adminFrom`), so the address and credentials are the
 * ones the server computes, QILIN_ADMIN_PASSWORD and QILIN_ADMIN_TOKEN and a qilin-daemon.json's
 * `daemon_port` included. A wildcard address (`0.0.0.0:9000`) is reached on loopback. Null when there is
 * no config file; a CliError naming the file when it cannot be read, or sets no address a client can use.
 */
export async function adminTargetFromConfig(cwd: string, given: string | undefined, env: Env): Promise<ConfiguredTarget | null> {
  const file = findConfigFile(cwd, given);
  if (file === null) return null;
  const loaded = await loadConfigFile(file);
  const origins = new Map(loaded.origins);
  const { admin } = adminFrom(loaded.settings, origins, env);
  if (admin === null) {
    throw new CliError('ERR_QILIN_USAGE', `${MISSING_ADMIN}. ${file} sets no admin interface (\`admin.listen\`, or \`daemon_port\` in a qilin-daemon.json)`);
  }
  const listen = parseAdminAddress(admin.listen, path.dirname(file));
  if (!listen) {
    throw renameError(new InvalidOptionError('admin.listen', "a port (0-65535), 'host:port', '[ipv6]:port' or 'unix:/path/to/socket'", admin.listen), origins);
  }
  if (listen.kind === 'tcp' && listen.port === 0) {
    throw new CliError(
      'ERR_QILIN_USAGE',
      `${displayName('admin.listen', origins)} is port 0, a free port chosen when qilin starts: give the one its \`adminListening\` line names with --admin`,
    );
  }
  return {
    address: clientAddress(listen),
    credentials: { username: secret(admin.username), password: secret(admin.password), token: secret(admin.token) },
  };
}
