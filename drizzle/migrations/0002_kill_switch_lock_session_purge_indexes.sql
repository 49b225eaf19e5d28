ALTER TABLE `users` ADD `trading_locked_at` datetime(3);--> statement-breakpoint
ALTER TABLE `users` ADD `trading_locked_by` bigint unsigned;--> statement-breakpoint
CREATE INDEX `sessions_expires_at_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_revoked_at_idx` ON `sessions` (`revoked_at`);