/**
 * Drizzle relations, for typed `db.query` reads in `mode: 'planetscale'`. The default relational mode emits
 * LEFT JOIN LATERAL, which MariaDB rejects (PITFALLS §2), so hot paths and anything tested on MariaDB should use
 * explicit joins; these definitions document the graph and serve simple one-level lookups.
 */
import { relations } from 'drizzle-orm';
import {
  brokerConnections,
  brokerOrders,
  deadLetters,
  fills,
  notificationChannels,
  notifications,
  openPositions,
  reconciliationRuns,
  routingRules,
  sessions,
  stagingTrades,
  strategies,
  trades,
  users,
  webhookLogs,
} from './schema/index.ts';

export const usersRelations = relations(users, ({ many }) => ({
  sessions: many(sessions),
  strategies: many(strategies),
  brokerConnections: many(brokerConnections),
  notifications: many(notifications),
  notificationChannels: many(notificationChannels),
}));

export const sessionsRelations = relations(sessions, ({ one }) => ({
  user: one(users, { fields: [sessions.userId], references: [users.id] }),
}));

export const strategiesRelations = relations(strategies, ({ one, many }) => ({
  user: one(users, { fields: [strategies.userId], references: [users.id] }),
  routingRules: many(routingRules),
  webhookLogs: many(webhookLogs),
  stagingTrades: many(stagingTrades),
  orders: many(brokerOrders),
  openPositions: many(openPositions),
  trades: many(trades),
}));

export const webhookLogsRelations = relations(webhookLogs, ({ one, many }) => ({
  strategy: one(strategies, { fields: [webhookLogs.strategyId], references: [strategies.id] }),
  trade: one(trades, { fields: [webhookLogs.tradeId], references: [trades.id] }),
  orders: many(brokerOrders),
}));

export const stagingTradesRelations = relations(stagingTrades, ({ one }) => ({
  strategy: one(strategies, { fields: [stagingTrades.strategyId], references: [strategies.id] }),
  webhookLog: one(webhookLogs, { fields: [stagingTrades.webhookLogId], references: [webhookLogs.id] }),
}));

export const brokerConnectionsRelations = relations(brokerConnections, ({ one, many }) => ({
  user: one(users, { fields: [brokerConnections.userId], references: [users.id] }),
  routingRules: many(routingRules),
  orders: many(brokerOrders),
  openPositions: many(openPositions),
  reconciliationRuns: many(reconciliationRuns),
}));

export const routingRulesRelations = relations(routingRules, ({ one }) => ({
  strategy: one(strategies, { fields: [routingRules.strategyId], references: [strategies.id] }),
  brokerConnection: one(brokerConnections, {
    fields: [routingRules.brokerConnectionId],
    references: [brokerConnections.id],
  }),
}));

export const brokerOrdersRelations = relations(brokerOrders, ({ one, many }) => ({
  strategy: one(strategies, { fields: [brokerOrders.strategyId], references: [strategies.id] }),
  brokerConnection: one(brokerConnections, {
    fields: [brokerOrders.brokerConnectionId],
    references: [brokerConnections.id],
  }),
  webhookLog: one(webhookLogs, { fields: [brokerOrders.webhookLogId], references: [webhookLogs.id] }),
  trade: one(trades, { fields: [brokerOrders.tradeId], references: [trades.id] }),
  parentOrder: one(brokerOrders, {
    fields: [brokerOrders.parentOrderId],
    references: [brokerOrders.id],
    relationName: 'order_legs',
  }),
  childOrders: many(brokerOrders, { relationName: 'order_legs' }),
  fills: many(fills),
}));

export const fillsRelations = relations(fills, ({ one }) => ({
  order: one(brokerOrders, { fields: [fills.brokerOrderId], references: [brokerOrders.id] }),
}));

export const openPositionsRelations = relations(openPositions, ({ one }) => ({
  strategy: one(strategies, { fields: [openPositions.strategyId], references: [strategies.id] }),
  brokerConnection: one(brokerConnections, {
    fields: [openPositions.brokerConnectionId],
    references: [brokerConnections.id],
  }),
}));

export const tradesRelations = relations(trades, ({ one, many }) => ({
  strategy: one(strategies, { fields: [trades.strategyId], references: [strategies.id] }),
  brokerConnection: one(brokerConnections, {
    fields: [trades.brokerConnectionId],
    references: [brokerConnections.id],
  }),
  orders: many(brokerOrders),
  webhookLogs: many(webhookLogs),
}));

export const notificationsRelations = relations(notifications, ({ one }) => ({
  user: one(users, { fields: [notifications.userId], references: [users.id] }),
}));

export const notificationChannelsRelations = relations(notificationChannels, ({ one }) => ({
  user: one(users, { fields: [notificationChannels.userId], references: [users.id] }),
}));

export const deadLettersRelations = relations(deadLetters, ({ one }) => ({
  user: one(users, { fields: [deadLetters.userId], references: [users.id] }),
}));

export const reconciliationRunsRelations = relations(reconciliationRuns, ({ one }) => ({
  brokerConnection: one(brokerConnections, {
    fields: [reconciliationRuns.brokerConnectionId],
    references: [brokerConnections.id],
  }),
}));
