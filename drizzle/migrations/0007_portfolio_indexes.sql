CREATE INDEX `trades_user_id_status_exit_date_cover_idx` ON `trades` (`user_id`,`status`,`exit_date`,`strategy_id`,`pnl`,`fees`,`deleted_at`);--> statement-breakpoint
CREATE INDEX `trades_user_id_entry_date_idx` ON `trades` (`user_id`,`entry_date`);--> statement-breakpoint
DROP INDEX `trades_user_id_status_exit_date_idx` ON `trades`;
