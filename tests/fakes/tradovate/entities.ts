/**
 * Tradovate entity reads (BROKERS.md §2.2, §2.4): every entity has /list, /item?id=, /items?ids=, /deps?masterid=,
 * /ldeps?masterids=, /find?name= and /suggest?t=&l=. Order, OrderVersion, Fill, Command and ExecutionReport are
 * separate entities; an Order has no quantity, price or clOrdId. Reading an order counts as a status poll.
 */
import { type FakeRequest, type FakeResponse, json, type Router } from '../common/http.ts';
import { intLike, isRecord } from '../common/json.ts';
import { ACCESS_DENIED, bearer } from './auth.ts';
import type { TvContext } from './orders.ts';
import {
  cashSnapshot,
  positionRows,
  type Row,
  renderFills,
  renderOrder,
  renderReports,
  type TvOrder,
} from './render.ts';
import type { TvUser } from './types.ts';

interface EntityDef {
  rows(ctx: TvContext, user: TvUser, req: FakeRequest): Row[];
  master?: string;
  named?: boolean;
}

function userOrders(ctx: TvContext, user: TvUser): TvOrder[] {
  return ctx.state.engine.orders.filter((o) => user.accounts.some((a) => a.id === o.ext.accountId));
}

const ORDER_CHILDREN = ['orderVersion', 'fill', 'command', 'executionReport'];

/**
 * Orders a read touches, polled before the answer is built: the orders an order read returns, or the master
 * orders of an OrderVersion/Fill/Command/ExecutionReport deps read.
 */
function pollFor(ctx: TvContext, user: TvUser, req: FakeRequest, entity: string, kind: string): void {
  const ids = (name: string) => (req.query.get(name) ?? '').split(',').map((s) => intLike(s.trim()));
  let targets: TvOrder[] = [];
  const orders = userOrders(ctx, user);
  if (entity === 'order') {
    if (kind === 'list') targets = orders;
    else if (kind === 'item') targets = orders.filter((o) => ids('id').includes(o.ext.numericId));
    else if (kind === 'items') targets = orders.filter((o) => ids('ids').includes(o.ext.numericId));
    else if (kind === 'deps') targets = orders.filter((o) => ids('masterid').includes(o.ext.accountId));
    else if (kind === 'ldeps') targets = orders.filter((o) => ids('masterids').includes(o.ext.accountId));
  } else if (ORDER_CHILDREN.includes(entity) && (kind === 'deps' || kind === 'ldeps')) {
    const masters = kind === 'deps' ? ids('masterid') : ids('masterids');
    targets = orders.filter((o) => masters.includes(o.ext.numericId));
  }
  for (const order of targets) ctx.state.engine.poll(order);
}

const ENTITIES: Record<string, EntityDef> = {
  account: {
    rows: (_ctx, user) =>
      user.accounts.map((a) => ({
        id: a.id,
        name: a.name,
        userId: user.id,
        accountType: 'Customer',
        active: true,
        clearingHouseId: 2,
        riskCategoryId: 2,
        autoLiqProfileId: 2,
        marginAccountType: 'Speculator',
        legalStatus: 'Individual',
        archived: false,
        timestamp: new Date(0).toISOString(),
      })),
    master: 'userId',
    named: true,
  },
  contract: {
    rows: (ctx) =>
      ctx.state.contracts.map((c) => ({ id: c.id, name: c.name, contractMaturityId: c.contractMaturityId })),
    master: 'contractMaturityId',
    named: true,
  },
  order: { rows: (ctx, user) => userOrders(ctx, user).map((o) => renderOrder(ctx.state, o)), master: 'accountId' },
  orderVersion: {
    rows: (ctx, user) => {
      const ids = new Set(userOrders(ctx, user).map((o) => o.ext.numericId));
      return ctx.state.orderVersions.filter((v) => ids.has(v.orderId)).map((v) => ({ ...v }));
    },
    master: 'orderId',
  },
  fill: { rows: (ctx, user) => userOrders(ctx, user).flatMap((o) => renderFills(ctx.state, o)), master: 'orderId' },
  command: {
    rows: (ctx, user) => {
      const ids = new Set(userOrders(ctx, user).map((o) => o.ext.numericId));
      return ctx.state.commands.filter((c) => ids.has(c.orderId)).map((c) => ({ ...c }));
    },
    master: 'orderId',
  },
  executionReport: {
    rows: (ctx, user) => userOrders(ctx, user).flatMap((o) => renderReports(ctx.state, o)),
    master: 'orderId',
  },
  position: { rows: (ctx, user) => positionRows(ctx.state, user), master: 'accountId' },
};

export function registerEntityRoutes(router: Router, ctx: TvContext): void {
  for (const [entity, def] of Object.entries(ENTITIES)) {
    const read = (kind: string, fn: (rows: Row[], req: FakeRequest) => FakeResponse) => (req: FakeRequest) => {
      const session = bearer(ctx, req);
      if (!session) return ACCESS_DENIED;
      if (entity === 'contract' && req.query.get('name')) ctx.contractByName(req.query.get('name') ?? '');
      pollFor(ctx, session.user, req, entity, kind);
      return fn(def.rows(ctx, session.user, req), req);
    };
    router
      .add(
        'GET',
        `/${entity}/list`,
        read('list', (rows) => json(200, rows)),
      )
      .add(
        'GET',
        `/${entity}/item`,
        read('item', (rows, req) => {
          const row = rows.find((r) => r.id === intLike(req.query.get('id') ?? undefined));
          return row ? json(200, row) : { status: 404 };
        }),
      )
      .add(
        'GET',
        `/${entity}/items`,
        read('items', (rows, req) => {
          const ids = (req.query.get('ids') ?? '').split(',').map((s) => intLike(s.trim()));
          return json(
            200,
            rows.filter((r) => ids.includes(r.id)),
          );
        }),
      )
      .add(
        'GET',
        `/${entity}/deps`,
        read('deps', (rows, req) => {
          const master = intLike(req.query.get('masterid') ?? undefined);
          return json(200, def.master ? rows.filter((r) => r[def.master ?? ''] === master) : []);
        }),
      )
      .add(
        'GET',
        `/${entity}/ldeps`,
        read('ldeps', (rows, req) => {
          const masters = (req.query.get('masterids') ?? '').split(',').map((s) => intLike(s.trim()));
          return json(200, def.master ? rows.filter((r) => masters.includes(intLike(r[def.master ?? '']))) : []);
        }),
      )
      .add(
        'GET',
        `/${entity}/find`,
        read('find', (rows, req) => {
          const row = def.named ? rows.find((r) => r.name === req.query.get('name')) : undefined;
          return row ? json(200, row) : { status: 404 };
        }),
      )
      .add(
        'GET',
        `/${entity}/suggest`,
        read('suggest', (rows, req) => {
          const text = (req.query.get('t') ?? '').toUpperCase();
          const limit = Number(req.query.get('l') ?? '10') || 10;
          const found = def.named ? rows.filter((r) => String(r.name).toUpperCase().startsWith(text)) : [];
          return json(200, found.slice(0, limit));
        }),
      );
  }
  router.add('POST', '/cashBalance/getcashbalancesnapshot', (req) => {
    const session = bearer(ctx, req);
    if (!session) return ACCESS_DENIED;
    const accountId = isRecord(req.body) ? intLike(req.body.accountId) : undefined;
    const account = session.user.accounts.find((a) => a.id === accountId);
    if (!account) return json(200, { errorText: `Account ${String(accountId)} not found` });
    return json(200, cashSnapshot(ctx.state, account.id));
  });
}
