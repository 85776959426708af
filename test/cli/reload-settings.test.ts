// A reload under the command reads its config file again: the new generation runs with the new settings; a file that does not read is refused and the old workers and settings stay.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixture, freePort, get, parseIdentity, runQilin, startQilin, tempDir, until } from './helpers.js';

/** Who answers now: slot, generation and feature, from `requests` requests. */
async function answers(port: number, requests = 12): Promise<Record<string, string>[]> {
  const replies: Record<string, string>[] = [];
  for (let i = 0; i < requests; i += 1) replies.push(parseIdentity((await get(port)).body));
  return replies;
}

describe('reload with new settings', () => {
  test('SIGHUP re-reads qilin.config.json: the new generation gets its env and its worker count; a broken file is refused and nothing changes', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const config = path.join(dir, 'qilin.config.json');
    const write = (settings: object | string): void => writeFileSync(config, typeof settings === 'string' ? settings : JSON.stringify(settings));
    const settings = { app: fixture('reports-feature.cjs'), workers: 2, env: { PORT: String(port), FEATURE: 'one' } };
    write(settings);
    // Round-robin, so a dozen requests reach every worker.
    const noSecrets = { QILIN_ADMIN_PASSWORD: '', QILIN_ADMIN_TOKEN: '' };
    const qilin = startQilin(t, ['--log-format', 'json', '--balance', 'round-robin', '--admin', '0'], { cwd: dir, env: noSecrets });
    const address = String((await qilin.waitFor('adminListening')).address);
    await qilin.waitFor('started');
    assert.deepEqual([...new Set((await answers(port)).map((a) => `${a.slot} ${a.feature}`))].sort(), ['0 one', '1 one']);

    // 2 workers to 3, and a new env value.
    write({ ...settings, workers: 3, env: { ...settings.env, FEATURE: 'two' } });
    qilin.signal('SIGHUP');
    const ended = await qilin.waitFor('reloadEnd');
    assert.equal(ended.generation, 1);
    await until('all three slots answer with the new setting', async () => {
      const seen = new Set((await answers(port)).map((a) => `${a.slot} ${a.generation} ${a.feature}`));
      return seen.size === 3 && ['0 1 two', '1 1 two', '2 1 two'].every((who) => seen.has(who));
    });

    const before = qilin.records.length;
    write('{ "workers": 3, ');
    // Asked through the admin interface: the client hears why.
    const client = await runQilin(t, ['reload', '--admin', address], { env: noSecrets }, 30_000);
    assert.notEqual(client.exit.code, 0);
    assert.match(client.stderr, /settings could not be read again: .*qilin\.config\.json/);
    const refused = await qilin.waitFor('warning', (r) => String(r.msg).startsWith('reload refused'), 10_000, before);
    assert.match(String(refused.msg), /qilin\.config\.json/);
    assert.equal(qilin.count('reloadStart'), 1, 'no reload started with the broken file');
    assert.deepEqual([...new Set((await answers(port)).map((a) => `${a.generation} ${a.feature}`))], ['1 two'], 'the workers serving stay');

    // What a reload cannot change is named; the rest applies.
    write({ ...settings, workers: 3, env: { ...settings.env, FEATURE: 'three' }, pidFile: 'qilin.pid' });
    qilin.signal('SIGHUP');
    const named = await qilin.waitFor('warning', (r) => String(r.msg).includes('which a reload cannot change'), 10_000, before);
    assert.match(String(named.msg), /pidFile/);
    await qilin.waitFor('reloadEnd', (r) => r.generation === 2, 15_000);
    assert.deepEqual([...new Set((await answers(port)).map((a) => `${a.generation} ${a.feature}`))], ['2 three']);

    // SIGTTIN counts from the worker count the reload applied.
    qilin.signal('SIGTTIN');
    await qilin.waitFor('scaled', (r) => r.workers === 4);
    qilin.signal('SIGTERM');
    assert.equal((await qilin.waitExit()).code, 0);
  });
});
