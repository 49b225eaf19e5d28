/**
 * The migrated schema as MariaDB sees it (information_schema), and the behaviour its keys promise: soft-deleted
 * names are reusable, history blocks user deletion, ephemera cascade, JSON and decimals round-trip exactly.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { ASSET_CLASSES } from '../../shared/enums.ts';
import { useTestDatabase } from '../helpers/db.ts';

const { pool } = useTestDatabase();

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await pool.query<RowDataPacket[]>(sql, params);
  return result as T[];
}

const SOFT_DELETABLE = [
  'users',
  'strategies',
  'trades',
  'webhook_logs',
  'broker_connections',
  'routing_rules',
  'notifications',
  'notification_channels',
];

// [constraint, table, column, referenced table, ON DELETE]. History RESTRICTs, ephemera CASCADE, derived pointers
// SET NULL; see the comment on each table in drizzle/schema.
const FOREIGN_KEYS: [string, string, string, string, string][] = [
  ['sessions_user_id_fk', 'sessions', 'user_id', 'users', 'CASCADE'],
  ['notifications_user_id_fk', 'notifications', 'user_id', 'users', 'CASCADE'],
  ['notification_channels_user_id_fk', 'notification_channels', 'user_id', 'users', 'CASCADE'],
  ['strategies_user_id_fk', 'strategies', 'user_id', 'users', 'RESTRICT'],
  ['broker_connections_user_id_fk', 'broker_connections', 'user_id', 'users', 'RESTRICT'],
  ['webhook_logs_strategy_id_fk', 'webhook_logs', 'strategy_id', 'strategies', 'RESTRICT'],
  ['webhook_logs_trade_id_fk', 'webhook_logs', 'trade_id', 'trades', 'SET NULL'],
  ['staging_trades_strategy_id_fk', 'staging_trades', 'strategy_id', 'strategies', 'RESTRICT'],
  ['staging_trades_webhook_log_id_fk', 'staging_trades', 'webhook_log_id', 'webhook_logs', 'RESTRICT'],
  ['routing_rules_user_id_fk', 'routing_rules', 'user_id', 'users', 'CASCADE'],
  ['routing_rules_strategy_id_fk', 'routing_rules', 'strategy_id', 'strategies', 'CASCADE'],
  ['routing_rules_broker_connection_id_fk', 'routing_rules', 'broker_connection_id', 'broker_connections', 'CASCADE'],
  ['broker_orders_user_id_fk', 'broker_orders', 'user_id', 'users', 'RESTRICT'],
  ['broker_orders_strategy_id_fk', 'broker_orders', 'strategy_id', 'strategies', 'RESTRICT'],
  ['broker_orders_broker_connection_id_fk', 'broker_orders', 'broker_connection_id', 'broker_connections', 'RESTRICT'],
  ['broker_orders_webhook_log_id_fk', 'broker_orders', 'webhook_log_id', 'webhook_logs', 'RESTRICT'],
  ['broker_orders_trade_id_fk', 'broker_orders', 'trade_id', 'trades', 'SET NULL'],
  ['broker_orders_parent_order_id_fk', 'broker_orders', 'parent_order_id', 'broker_orders', 'RESTRICT'],
  ['fills_broker_order_id_fk', 'fills', 'broker_order_id', 'broker_orders', 'RESTRICT'],
  ['open_positions_strategy_id_fk', 'open_positions', 'strategy_id', 'strategies', 'RESTRICT'],
  [
    'open_positions_broker_connection_id_fk',
    'open_positions',
    'broker_connection_id',
    'broker_connections',
    'RESTRICT',
  ],
  ['trades_user_id_fk', 'trades', 'user_id', 'users', 'RESTRICT'],
  ['trades_strategy_id_fk', 'trades', 'strategy_id', 'strategies', 'RESTRICT'],
  ['trades_broker_connection_id_fk', 'trades', 'broker_connection_id', 'broker_connections', 'RESTRICT'],
  ['dead_letters_user_id_fk', 'dead_letters', 'user_id', 'users', 'SET NULL'],
  [
    'reconciliation_runs_broker_connection_id_fk',
    'reconciliation_runs',
    'broker_connection_id',
    'broker_connections',
    'CASCADE',
  ],
];

// [table, index, columns in order, unique]: every multi-column key plus the single-column unique lookups.
const INDEXES: [string, string, string, boolean][] = [
  ['users', 'users_email_live_uq', 'email,live', true],
  ['sessions', 'sessions_refresh_token_hash_uq', 'refresh_token_hash', true],
  ['sessions', 'sessions_family_id_idx', 'family_id', false],
  ['sessions', 'sessions_expires_at_idx', 'expires_at', false],
  ['sessions', 'sessions_revoked_at_idx', 'revoked_at', false],
  ['strategies', 'strategies_webhook_token_hash_uq', 'webhook_token_hash', true],
  ['strategies', 'strategies_user_id_name_live_uq', 'user_id,name,live', true],
  ['webhook_logs', 'webhook_logs_strategy_id_created_at_idx', 'strategy_id,created_at', false],
  ['webhook_logs', 'webhook_logs_status_created_at_idx', 'status,created_at', false],
  ['webhook_logs', 'webhook_logs_strategy_id_dedup_key_uq', 'strategy_id,dedup_key', true],
  ['staging_trades', 'staging_trades_strategy_id_status_created_at_idx', 'strategy_id,status,created_at', false],
  ['staging_trades', 'staging_trades_status_expires_at_idx', 'status,expires_at', false],
  ['broker_connections', 'broker_connections_user_id_name_live_uq', 'user_id,name,live', true],
  [
    'routing_rules',
    'routing_rules_strategy_id_broker_connection_id_live_uq',
    'strategy_id,broker_connection_id,live',
    true,
  ],
  ['broker_orders', 'broker_orders_client_order_id_uq', 'client_order_id', true],
  [
    'broker_orders',
    'broker_orders_broker_connection_id_broker_order_id_uq',
    'broker_connection_id,broker_order_id',
    true,
  ],
  [
    'broker_orders',
    'broker_orders_broker_connection_id_status_updated_at_idx',
    'broker_connection_id,status,updated_at',
    false,
  ],
  [
    'broker_orders',
    'broker_orders_strategy_id_symbol_status_created_at_idx',
    'strategy_id,symbol,status,created_at',
    false,
  ],
  ['broker_orders', 'broker_orders_user_id_created_at_idx', 'user_id,created_at', false],
  ['fills', 'fills_broker_order_id_broker_fill_id_uq', 'broker_order_id,broker_fill_id', true],
  [
    'open_positions',
    'open_positions_strategy_id_broker_connection_id_symbol_uq',
    'strategy_id,broker_connection_id,symbol',
    true,
  ],
  ['open_positions', 'open_positions_broker_connection_id_symbol_idx', 'broker_connection_id,symbol', false],
  ['trades', 'trades_strategy_id_entry_date_exit_date_idx', 'strategy_id,entry_date,exit_date', false],
  ['trades', 'trades_strategy_id_status_idx', 'strategy_id,status', false],
  [
    'trades',
    'trades_user_id_status_exit_date_cover_idx',
    'user_id,status,exit_date,strategy_id,pnl,fees,deleted_at',
    false,
  ],
  ['trades', 'trades_user_id_entry_date_idx', 'user_id,entry_date', false],
  ['notifications', 'notifications_user_id_is_read_created_at_idx', 'user_id,is_read,created_at', false],
  ['notification_channels', 'notification_channels_user_id_name_live_uq', 'user_id,name,live', true],
  ['dead_letters', 'dead_letters_status_created_at_idx', 'status,created_at', false],
  ['dead_letters', 'dead_letters_user_id_status_idx', 'user_id,status', false],
  ['audit_logs', 'audit_logs_user_id_created_at_idx', 'user_id,created_at', false],
  ['audit_logs', 'audit_logs_resource_type_resource_id_created_at_idx', 'resource_type,resource_id,created_at', false],
  [
    'reconciliation_runs',
    'reconciliation_runs_broker_connection_id_started_at_idx',
    'broker_connection_id,started_at',
    false,
  ],
  ['instruments', 'instruments_root_uq', 'root', true],
  ['benchmarks', 'benchmarks_symbol_date_uq', 'symbol,date', true],
];

describe('foreign keys', () => {
  it('are exactly the designed set: explicit names, ON DELETE rules, and none on audit_logs', async () => {
    const actual = await rows<{ name: string; tbl: string; col: string; ref: string; rule: string }>(
      `SELECT rc.constraint_name AS name, rc.table_name AS tbl, k.column_name AS col,
              rc.referenced_table_name AS ref, rc.delete_rule AS rule
         FROM information_schema.referential_constraints rc
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = rc.constraint_schema AND k.constraint_name = rc.constraint_name
          AND k.table_name = rc.table_name
        WHERE rc.constraint_schema = DATABASE()`,
    );
    const asTuples = actual.map((r) => [r.name, r.tbl, r.col, r.ref, r.rule]);
    expect(asTuples.sort()).toEqual([...FOREIGN_KEYS].sort());
    expect(actual.filter((r) => r.tbl === 'audit_logs')).toEqual([]);
  });

  it.each(FOREIGN_KEYS)('%s: %s.%s → %s ON DELETE %s', async (name, table, column, referenced, rule) => {
    const [fk] = await rows<{ rule: string; col: string; ref: string }>(
      `SELECT rc.delete_rule AS rule, k.column_name AS col, rc.referenced_table_name AS ref
         FROM information_schema.referential_constraints rc
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = rc.constraint_schema AND k.constraint_name = rc.constraint_name
        WHERE rc.constraint_schema = DATABASE() AND rc.table_name = ? AND rc.constraint_name = ?`,
      [table, name],
    );
    expect(fk).toEqual({ rule, col: column, ref: referenced });
  });
});

describe('indexes', () => {
  it.each(INDEXES)('%s has %s on (%s), unique=%s', async (table, index, columns, unique) => {
    const [found] = await rows<{ cols: string; nonUnique: number }>(
      `SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) AS cols, MAX(non_unique) AS nonUnique
         FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`,
      [table, index],
    );
    expect(found?.cols).toBe(columns);
    expect(Number(found?.nonUnique) === 0).toBe(unique);
  });

  it('follow the <table>_<cols>_idx/_uq naming and fit in 64 characters', async () => {
    const all = await rows<{ tbl: string; idx: string }>(
      `SELECT DISTINCT table_name AS tbl, index_name AS idx FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY' AND table_name <> '__drizzle_migrations'`,
    );
    for (const { tbl, idx } of all) expect(idx).toMatch(new RegExp(`^${tbl}_[a-z_]+_(idx|uq)$`));
  });
});

describe('column conventions', () => {
  it('every table has a bigint unsigned auto-increment id and datetime(3) created_at/updated_at', async () => {
    const columns = await rows<{ tbl: string; col: string; type: string; dflt: string | null; extra: string }>(
      `SELECT table_name AS tbl, column_name AS col, column_type AS type, column_default AS dflt, extra
         FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name <> '__drizzle_migrations'
          AND column_name IN ('id', 'created_at', 'updated_at')`,
    );
    const tables = new Set(columns.map((c) => c.tbl));
    expect(tables.size).toBe(18);
    for (const c of columns) {
      if (c.col === 'id') expect([c.tbl, c.type, c.extra]).toEqual([c.tbl, 'bigint(20) unsigned', 'auto_increment']);
      else expect([c.tbl, c.col, c.type, c.dflt]).toEqual([c.tbl, c.col, 'datetime(3)', 'current_timestamp(3)']);
      if (c.col === 'updated_at') expect(c.extra.toLowerCase()).toBe('on update current_timestamp(3)');
    }
  });

  it('soft-deletable tables carry deleted_at, deleted_by and a virtual live column', async () => {
    const live = await rows<{ tbl: string; extra: string; expr: string }>(
      `SELECT table_name AS tbl, extra, generation_expression AS expr FROM information_schema.columns
        WHERE table_schema = DATABASE() AND column_name = 'live'`,
    );
    expect(live.map((c) => c.tbl).sort()).toEqual([...SOFT_DELETABLE].sort());
    for (const c of live) {
      expect(c.extra).toMatch(/VIRTUAL/i);
      expect(c.expr.replace(/`/g, '').toLowerCase()).toBe('if(deleted_at is null,1,null)');
    }
    const deletedAt = await rows<{ n: number }>(
      `SELECT COUNT(*) AS n FROM information_schema.columns
        WHERE table_schema = DATABASE() AND column_name IN ('deleted_at', 'deleted_by')`,
    );
    expect(Number(deletedAt[0]?.n)).toBe(SOFT_DELETABLE.length * 2);
  });

  it.each([
    ['users', 'email', 'varchar(254)'],
    ['users', 'trading_locked_at', 'datetime(3)'],
    ['users', 'trading_locked_by', 'bigint(20) unsigned'],
    ['audit_logs', 'ip_address', 'varchar(45)'],
    ['webhook_logs', 'raw_body', 'mediumtext'],
    ['trades', 'pnl', 'decimal(20,8)'],
    ['broker_orders', 'quantity', 'decimal(20,8)'],
    ['reconciliation_runs', 'heartbeat_at', 'datetime(3)'],
    ['instruments', 'asset_class', `enum(${ASSET_CLASSES.map((a) => `'${a}'`).join(',')})`],
  ])('%s.%s is %s', async (table, column, type) => {
    const [c] = await rows<{ type: string }>(
      `SELECT column_type AS type FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`,
      [table, column],
    );
    expect(c?.type).toBe(type);
  });
});
