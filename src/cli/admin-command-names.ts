// The admin client's command names, apart from the client itself so the `qilin` command can recognize them without loading it.
export const ADMIN_COMMANDS = ['status', 'reload', 'stop', 'scale', 'upgrade'] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];
