/**
 * The randomized trading session of tests/faults/books-never-drift.test.ts, fully determined by its seed: which
 * strategy sends which alert in which order, re-deliveries of earlier alerts, the brokers' price moves and their fill
 * behaviour switching between immediate, delayed and partial. Pure: nothing here talks to a server.
 *
 * Each strategy's alerts follow a guess of its position (as if every alert had filled in full), so most alerts mean
 * something — adds and exits while a position is open, entries while flat, reversals, targets — and a share of them
 * are deliberately pointless (a buy while long, an exit while flat) to exercise the ignore paths.
 */
import type { FillConfig } from '../fakes/common/engine.ts';

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type ScenarioBroker = 'alpaca' | 'tradovate';

export interface Instrument {
  broker: ScenarioBroker;
  /** What the alert says (a continuous future for Tradovate, mapped by the routing rule). */
  ticker: string;
  brokerSymbol: string;
  /** Price step (a cent, a quarter point): prices stay on it, with at most 2 decimals. */
  tick: number;
  start: string;
  /** Largest quantity an alert asks for. */
  maxQuantity: number;
}

export const INSTRUMENTS: Instrument[] = [
  { broker: 'alpaca', ticker: 'AAPL', brokerSymbol: 'AAPL', tick: 0.01, start: '150', maxQuantity: 5 },
  { broker: 'alpaca', ticker: 'MSFT', brokerSymbol: 'MSFT', tick: 0.01, start: '400', maxQuantity: 5 },
  { broker: 'tradovate', ticker: 'MNQ1!', brokerSymbol: 'MNQZ5', tick: 0.25, start: '20000', maxQuantity: 3 },
  { broker: 'tradovate', ticker: 'MES1!', brokerSymbol: 'MESZ5', tick: 0.25, start: '5000', maxQuantity: 3 },
];

export interface StrategyProfile {
  name: string;
  allowShort: boolean;
  allowReverse: boolean;
  maxPositionQty: string | null;
  /** routing_rules.quantity_multiplier */
  quantityMultiplier: string;
}

const PROFILES: StrategyProfile[] = [
  { name: 'swing', allowShort: true, allowReverse: true, maxPositionQty: null, quantityMultiplier: '1' },
  { name: 'long-only', allowShort: false, allowReverse: false, maxPositionQty: null, quantityMultiplier: '1' },
  { name: 'capped-x2', allowShort: true, allowReverse: true, maxPositionQty: '8', quantityMultiplier: '2' },
];

export interface ScenarioStrategy {
  index: number;
  broker: ScenarioBroker;
  /** Index of its connection among that broker's connections. */
  connection: number;
  profile: StrategyProfile;
  instruments: Instrument[];
}

export interface Layout {
  alpacaConnections: number;
  tradovateConnections: number;
  /** Tradovate's share of the alerts per strategy, relative to Alpaca's (its pacing budget is smaller). */
  tradovateWeight: number;
}

/**
 * Connection 0 of each broker has one strategy (so its account's average price is that strategy's); every other
 * connection has two, whose positions on a symbol add up at the broker. Profiles rotate over the strategies.
 */
export function strategyLayout(layout: Layout): ScenarioStrategy[] {
  const strategies: ScenarioStrategy[] = [];
  const add = (broker: ScenarioBroker, connections: number) => {
    for (let connection = 0; connection < connections; connection++) {
      for (let k = 0; k < (connection === 0 ? 1 : 2); k++) {
        const index = strategies.length;
        strategies.push({
          index,
          broker,
          connection,
          profile: PROFILES[index % PROFILES.length] as StrategyProfile,
          instruments: INSTRUMENTS.filter((instrument) => instrument.broker === broker),
        });
      }
    }
  };
  add('alpaca', layout.alpacaConnections);
  add('tradovate', layout.tradovateConnections);
  return strategies;
}

export type FillSettings = Pick<FillConfig, 'mode'> & Partial<FillConfig>;

export type ScenarioEvent =
  /** `signal` numbers the distinct alerts; a re-delivery carries the number of the alert it repeats. */
  | { kind: 'alert'; strategy: number; body: string; signal: number; redelivery: boolean }
  | { kind: 'price'; broker: ScenarioBroker; symbol: string; price: string }
  | { kind: 'fills'; broker: ScenarioBroker; config: FillSettings };

export interface Scenario {
  strategies: ScenarioStrategy[];
  events: ScenarioEvent[];
  /** After the session: a cancel per strategy and ticker, so no resting limit order outlives it. */
  closing: ScenarioEvent[];
  signals: number;
  redeliveries: number;
}

const REDELIVERY_RATE = 0.06;
const IDEMPOTENCY_KEY_RATE = 0.3;
const PRICE_MOVE_RATE = 1 / 10;
const FILL_SWITCH_RATE = 1 / 120;

export function buildScenario(seed: number, signals: number, layout: Layout): Scenario {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const chance = (p: number) => random() < p;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  const strategies = strategyLayout(layout);
  const weights = strategies.map((s) => (s.broker === 'alpaca' ? 1 : layout.tradovateWeight));
  const totalWeight = weights.reduce((sum, w) => sum + w, 0);
  const pickStrategy = () => {
    let r = random() * totalWeight;
    for (const [i, w] of weights.entries()) {
      r -= w;
      if (r < 0) return i;
    }
    return strategies.length - 1;
  };
  const marks = new Map(INSTRUMENTS.map((i) => [i.brokerSymbol, Number(i.start)]));
  const guesses = new Map<string, number>();
  const events: ScenarioEvent[] = [];
  const deferred: Array<{ at: number; event: ScenarioEvent }> = [];
  let redeliveries = 0;

  for (let n = 1; n <= signals; n++) {
    const strategy = strategies[pickStrategy()] as ScenarioStrategy;
    const instrument = pick(strategy.instruments);
    const key = `${strategy.index}/${instrument.ticker}`;
    const guess = guesses.get(key) ?? 0;
    const mark = marks.get(instrument.brokerSymbol) as number;
    const alert = nextAlert({ random, int, chance, pick }, strategy.profile, instrument, guess, mark);
    guesses.set(key, Math.max(-12, Math.min(12, alert.guess)));
    const body: Record<string, unknown> = { ticker: instrument.ticker, ...alert.fields };
    if (chance(IDEMPOTENCY_KEY_RATE)) body.idempotencyKey = `books-${seed}-${n}`;
    body.comment = `books ${seed} #${n}`;
    const event: ScenarioEvent = {
      kind: 'alert',
      strategy: strategy.index,
      body: JSON.stringify(body),
      signal: n,
      redelivery: false,
    };
    events.push(event);
    if (chance(REDELIVERY_RATE)) {
      redeliveries++;
      const again: ScenarioEvent = { ...event, redelivery: true };
      // A keyed alert is a duplicate forever, so its re-delivery may come much later; a plain one only within the
      // dedup window (DEDUP_WINDOW_S, 10 s): right after it.
      if (body.idempotencyKey) deferred.push({ at: events.length + int(5, 200), event: again });
      else events.push(again);
    }
    const due = deferred.filter((d) => d.at <= events.length);
    for (const d of due) events.push(d.event);
    deferred.splice(0, deferred.length, ...deferred.filter((d) => !due.includes(d)));

    if (chance(PRICE_MOVE_RATE)) {
      const moved = pick(INSTRUMENTS);
      const current = marks.get(moved.brokerSymbol) as number;
      const steps = int(1, moved.tick < 0.1 ? 40 : 12) * (chance(0.5) ? 1 : -1);
      const next = Math.max(Number(moved.start) * 0.8, current + steps * moved.tick);
      const rounded = Math.round(next / moved.tick) * moved.tick;
      marks.set(moved.brokerSymbol, rounded);
      events.push({
        kind: 'price',
        broker: moved.broker,
        symbol: moved.brokerSymbol,
        price: rounded.toFixed(2),
      });
    }
    if (chance(FILL_SWITCH_RATE)) {
      const broker = pick(['alpaca', 'tradovate'] as const);
      events.push({ kind: 'fills', broker, config: fills(broker) });
    }
  }
  for (const due of deferred) events.push(due.event);

  /**
   * Immediate, immediate in parts, delayed parts, or a part per read of the order. Tradovate's are quicker: each of
   * its status reads costs several calls of a budget of 80 a minute, so an order polled long would starve the rest.
   */
  function fills(broker: ScenarioBroker): FillSettings {
    const quick = broker === 'tradovate';
    switch (int(0, 3)) {
      case 0:
        return { mode: 'immediate', steps: 1 };
      case 1:
        return { mode: 'immediate', steps: int(2, 3) };
      case 2:
        return { mode: 'delay', delayMs: quick ? int(20, 80) : int(40, 250), steps: int(1, quick ? 2 : 3) };
      default:
        return { mode: 'polls', polls: quick ? 1 : int(1, 2), steps: int(1, quick ? 2 : 3) };
    }
  }

  let closingSignal = signals;
  const closing: ScenarioEvent[] = strategies.flatMap((strategy) =>
    strategy.instruments.map((instrument) => ({
      kind: 'alert' as const,
      strategy: strategy.index,
      body: JSON.stringify({ ticker: instrument.ticker, action: 'cancel', comment: `books ${seed} closing` }),
      signal: ++closingSignal,
      redelivery: false,
    })),
  );
  return { strategies, events, closing, signals, redeliveries };
}

interface Draw {
  random: () => number;
  int: (min: number, max: number) => number;
  chance: (p: number) => boolean;
  pick: <T>(items: readonly T[]) => T;
}

/** One alert's fields for a position guessed at `guess`, and the guess after it. */
function nextAlert(
  draw: Draw,
  profile: StrategyProfile,
  instrument: Instrument,
  guess: number,
  mark: number,
): { fields: Record<string, unknown>; guess: number } {
  const { int, chance, pick } = draw;
  const m = Number(profile.quantityMultiplier);
  const q = int(1, instrument.maxQuantity);
  // TradingView templates quote some placeholders and not others: both must work.
  const quantity = chance(0.5) ? q : String(q);
  const r = draw.random();
  if (r < 0.03) return { fields: { action: 'cancel' }, guess };
  const side = guess > 0 ? 'buy' : guess < 0 ? 'sell' : chance(0.6) ? 'buy' : 'sell';
  const opposite = side === 'buy' ? 'sell' : 'buy';
  const direction = side === 'buy' ? 1 : -1;
  const shortOk = (d: number) => d > 0 || profile.allowShort;
  const limit = (s: 'buy' | 'sell') => {
    // Mostly resting a few ticks away, sometimes marketable.
    const ticks = int(-2, 8) * (s === 'buy' ? -1 : 1);
    const price = Math.round((mark + ticks * instrument.tick) / instrument.tick) * instrument.tick;
    return price.toFixed(2);
  };

  if (guess === 0) {
    if (r < 0.45) return { fields: { action: side, quantity }, guess: shortOk(direction) ? direction * q * m : 0 };
    if (r < 0.6) {
      const target = direction * q;
      return { fields: { action: side, positionSize: String(target) }, guess: shortOk(direction) ? target * m : 0 };
    }
    if (r < 0.75) {
      const fields = { action: side, quantity, orderType: 'limit', limitPrice: limit(side) };
      return { fields, guess: shortOk(direction) ? direction * q * m : 0 };
    }
    if (r < 0.85) return { fields: { action: 'add', quantity }, guess };
    if (r < 0.93) return { fields: { action: 'exit' }, guess };
    return { fields: { action: pick(['buy', 'sell']), sentiment: 'flat' }, guess };
  }

  const held = Math.abs(guess);
  if (r < 0.2) return { fields: { action: 'add', quantity }, guess: guess + direction * q * m };
  if (r < 0.32) return { fields: { action: 'exit', quantity }, guess: guess - direction * Math.min(held, q) };
  if (r < 0.42) {
    const percent = pick([25, 50, 75]);
    const closed = Math.floor((held * percent) / 100);
    return {
      fields: { action: 'exit', quantity: String(percent), quantityType: 'percent_of_position' },
      guess: guess - direction * closed,
    };
  }
  if (r < 0.52) return { fields: { action: 'exit' }, guess: 0 };
  if (r < 0.64) {
    // The other side: a reversal where the strategy allows it, a close otherwise.
    const reversed = profile.allowReverse && shortOk(-direction);
    const fields: Record<string, unknown> = { action: opposite, quantity };
    if (chance(0.25)) Object.assign(fields, { orderType: 'limit', limitPrice: limit(opposite) });
    return { fields, guess: reversed ? -direction * q * m : 0 };
  }
  if (r < 0.68) return { fields: { action: side, quantity }, guess };
  if (r < 0.76) return { fields: { action: opposite, sentiment: 'flat' }, guess: 0 };
  if (r < 0.84) {
    // A smaller target on the same side: a reduction.
    const target = direction * Math.max(0, Math.floor(held / m) - q);
    return { fields: { action: side, positionSize: String(target) }, guess: target * m };
  }
  const target = int(-instrument.maxQuantity, instrument.maxQuantity);
  const action = target > 0 ? 'buy' : target < 0 ? 'sell' : opposite;
  const reached = target < 0 && !profile.allowShort ? 0 : target * m;
  return { fields: { action, positionSize: String(target) }, guess: reached };
}
