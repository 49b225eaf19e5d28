CREATE TABLE `audit_logs` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned,
	`actor_type` enum('user','admin','system','webhook') NOT NULL,
	`action` varchar(64) NOT NULL,
	`resource_type` varchar(64),
	`resource_id` varchar(64),
	`old_value` json,
	`new_value` json,
	`ip_address` varchar(45),
	`user_agent` varchar(512),
	`request_id` varchar(64),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `audit_logs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `benchmarks` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`symbol` varchar(32) NOT NULL,
	`date` date NOT NULL,
	`close` decimal(20,8) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `benchmarks_id` PRIMARY KEY(`id`),
	CONSTRAINT `benchmarks_symbol_date_uq` UNIQUE(`symbol`,`date`)
);
--> statement-breakpoint
CREATE TABLE `broker_connections` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`broker` enum('alpaca','tradovate','ibkr') NOT NULL,
	`name` varchar(100) NOT NULL,
	`environment` enum('paper','live') NOT NULL DEFAULT 'paper',
	`credentials_enc` text NOT NULL,
	`account_id` varchar(64),
	`status` enum('unknown','connected','error','expired','disconnected') NOT NULL DEFAULT 'unknown',
	`status_message` varchar(500),
	`last_checked_at` datetime(3),
	`session_expires_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `broker_connections_id` PRIMARY KEY(`id`),
	CONSTRAINT `broker_connections_user_id_name_live_uq` UNIQUE(`user_id`,`name`,`live`)
);
--> statement-breakpoint
CREATE TABLE `broker_orders` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`broker_connection_id` bigint unsigned NOT NULL,
	`webhook_log_id` bigint unsigned,
	`trade_id` bigint unsigned,
	`parent_order_id` bigint unsigned,
	`client_order_id` varchar(128),
	`broker_order_id` varchar(64),
	`symbol` varchar(64) NOT NULL,
	`broker_symbol` varchar(64) NOT NULL,
	`side` enum('buy','sell') NOT NULL,
	`intent` enum('open','close','reverse_close','reverse_open','add','reduce') NOT NULL,
	`order_type` enum('market','limit','stop','stop_limit') NOT NULL,
	`tif` enum('day','gtc','ioc','fok','opg','cls') NOT NULL,
	`quantity` decimal(20,8) NOT NULL,
	`limit_price` decimal(20,8),
	`stop_price` decimal(20,8),
	`take_profit_price` decimal(20,8),
	`stop_loss_price` decimal(20,8),
	`status` enum('pending','submitting','submitted','accepted','partially_filled','filled','cancelled','rejected','expired','failed') NOT NULL DEFAULT 'pending',
	`broker_status` varchar(32),
	`filled_qty` decimal(20,8) NOT NULL DEFAULT '0',
	`avg_fill_price` decimal(20,8),
	`commission` decimal(20,8) NOT NULL DEFAULT '0',
	`attempts` int unsigned NOT NULL DEFAULT 0,
	`last_error` varchar(1000),
	`submitted_at` datetime(3),
	`filled_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `broker_orders_id` PRIMARY KEY(`id`),
	CONSTRAINT `broker_orders_client_order_id_uq` UNIQUE(`client_order_id`),
	CONSTRAINT `broker_orders_broker_connection_id_broker_order_id_uq` UNIQUE(`broker_connection_id`,`broker_order_id`)
);
--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`queue` varchar(64) NOT NULL,
	`job_name` varchar(128) NOT NULL,
	`job_id` varchar(255),
	`user_id` bigint unsigned,
	`payload` json NOT NULL,
	`error` text NOT NULL,
	`attempts` int unsigned NOT NULL DEFAULT 0,
	`status` enum('open','replayed','discarded') NOT NULL DEFAULT 'open',
	`resolved_by` bigint unsigned,
	`resolved_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `dead_letters_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `fills` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`broker_order_id` bigint unsigned NOT NULL,
	`broker_fill_id` varchar(64) NOT NULL,
	`quantity` decimal(20,8) NOT NULL,
	`price` decimal(20,8) NOT NULL,
	`commission` decimal(20,8) NOT NULL DEFAULT '0',
	`filled_at` datetime(3) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `fills_id` PRIMARY KEY(`id`),
	CONSTRAINT `fills_broker_order_id_broker_fill_id_uq` UNIQUE(`broker_order_id`,`broker_fill_id`)
);
--> statement-breakpoint
CREATE TABLE `instruments` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`root` varchar(16) NOT NULL,
	`asset_class` enum('future','equity','option','crypto','forex') NOT NULL DEFAULT 'future',
	`description` varchar(200),
	`exchange` varchar(16),
	`multiplier` decimal(20,8) NOT NULL DEFAULT '1',
	`tick_size` decimal(20,8) NOT NULL,
	`lot_size` decimal(20,8) NOT NULL DEFAULT '1',
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `instruments_id` PRIMARY KEY(`id`),
	CONSTRAINT `instruments_root_uq` UNIQUE(`root`)
);
--> statement-breakpoint
CREATE TABLE `notification_channels` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`kind` enum('discord','slack','telegram','webhook') NOT NULL,
	`name` varchar(100) NOT NULL,
	`target_enc` text NOT NULL,
	`events` json,
	`is_active` boolean NOT NULL DEFAULT true,
	`last_error` varchar(1000),
	`last_delivered_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `notification_channels_id` PRIMARY KEY(`id`),
	CONSTRAINT `notification_channels_user_id_name_live_uq` UNIQUE(`user_id`,`name`,`live`)
);
--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`type` varchar(64) NOT NULL,
	`severity` enum('info','warning','error','success') NOT NULL DEFAULT 'info',
	`title` varchar(200) NOT NULL,
	`message` text NOT NULL,
	`data` json,
	`is_read` boolean NOT NULL DEFAULT false,
	`read_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `notifications_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `open_positions` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`broker_connection_id` bigint unsigned NOT NULL,
	`symbol` varchar(64) NOT NULL,
	`side` enum('long','short') NOT NULL,
	`quantity` decimal(20,8) NOT NULL,
	`avg_entry_price` decimal(20,8) NOT NULL,
	`opened_at` datetime(3) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `open_positions_id` PRIMARY KEY(`id`),
	CONSTRAINT `open_positions_strategy_id_broker_connection_id_symbol_uq` UNIQUE(`strategy_id`,`broker_connection_id`,`symbol`)
);
--> statement-breakpoint
CREATE TABLE `reconciliation_runs` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`broker_connection_id` bigint unsigned NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`status` enum('ok','mismatch','error'),
	`discrepancies` json,
	`orders_updated` int unsigned NOT NULL DEFAULT 0,
	`error` text,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `reconciliation_runs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `routing_rules` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`broker_connection_id` bigint unsigned NOT NULL,
	`quantity_multiplier` decimal(20,8) NOT NULL DEFAULT '1',
	`symbol_map` json,
	`priority` int NOT NULL DEFAULT 0,
	`is_active` boolean NOT NULL DEFAULT true,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `routing_rules_id` PRIMARY KEY(`id`),
	CONSTRAINT `routing_rules_strategy_id_broker_connection_id_live_uq` UNIQUE(`strategy_id`,`broker_connection_id`,`live`)
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`family_id` varchar(64) NOT NULL,
	`refresh_token_hash` varchar(64) NOT NULL,
	`replaced_by` bigint unsigned,
	`expires_at` datetime(3) NOT NULL,
	`revoked_at` datetime(3),
	`ip` varchar(45),
	`user_agent` varchar(512),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `sessions_id` PRIMARY KEY(`id`),
	CONSTRAINT `sessions_refresh_token_hash_uq` UNIQUE(`refresh_token_hash`)
);
--> statement-breakpoint
CREATE TABLE `staging_trades` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`webhook_log_id` bigint unsigned NOT NULL,
	`symbol` varchar(64) NOT NULL,
	`action` enum('buy','sell','exit','cancel','add') NOT NULL,
	`quantity` decimal(20,8),
	`order_type` enum('market','limit','stop','stop_limit') NOT NULL DEFAULT 'market',
	`tif` enum('day','gtc','ioc','fok','opg','cls') NOT NULL DEFAULT 'day',
	`limit_price` decimal(20,8),
	`stop_price` decimal(20,8),
	`take_profit_price` decimal(20,8),
	`stop_loss_price` decimal(20,8),
	`signal` json NOT NULL,
	`status` enum('pending','approved','rejected','expired','executed') NOT NULL DEFAULT 'pending',
	`expires_at` datetime(3) NOT NULL,
	`decided_by` bigint unsigned,
	`decided_at` datetime(3),
	`decision_reason` varchar(500),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	CONSTRAINT `staging_trades_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `strategies` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`name` varchar(100) NOT NULL,
	`description` varchar(2000),
	`webhook_token_hash` varchar(64) NOT NULL,
	`webhook_token_enc` varchar(512) NOT NULL,
	`passphrase_hash` varchar(255),
	`is_active` boolean NOT NULL DEFAULT true,
	`execution_mode` enum('auto','manual') NOT NULL DEFAULT 'auto',
	`allowed_ips` json,
	`max_signal_age_s` int unsigned DEFAULT 300,
	`sizing_type` enum('fixed_quantity','dollar_amount','risk_dollar_amount','percent_of_equity','percent_of_position') NOT NULL DEFAULT 'fixed_quantity',
	`sizing_value` decimal(20,8) NOT NULL DEFAULT '1',
	`use_signal_quantity` boolean NOT NULL DEFAULT true,
	`allow_short` boolean NOT NULL DEFAULT false,
	`allow_reverse` boolean NOT NULL DEFAULT false,
	`max_position_qty` decimal(20,8),
	`default_order_type` enum('market','limit','stop','stop_limit') NOT NULL DEFAULT 'market',
	`default_tif` enum('day','gtc','ioc','fok','opg','cls') NOT NULL DEFAULT 'day',
	`live_enabled_at` datetime(3),
	`rate_per_minute` int unsigned NOT NULL DEFAULT 60,
	`rate_per_hour` int unsigned NOT NULL DEFAULT 500,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `strategies_id` PRIMARY KEY(`id`),
	CONSTRAINT `strategies_webhook_token_hash_uq` UNIQUE(`webhook_token_hash`),
	CONSTRAINT `strategies_user_id_name_live_uq` UNIQUE(`user_id`,`name`,`live`)
);
--> statement-breakpoint
CREATE TABLE `trades` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`broker_connection_id` bigint unsigned NOT NULL,
	`symbol` varchar(64) NOT NULL,
	`side` enum('long','short') NOT NULL,
	`quantity` decimal(20,8) NOT NULL,
	`entry_price` decimal(20,8) NOT NULL,
	`exit_price` decimal(20,8),
	`entry_date` datetime(3) NOT NULL,
	`exit_date` datetime(3),
	`pnl` decimal(20,8),
	`pnl_percent` decimal(20,8),
	`fees` decimal(20,8) NOT NULL DEFAULT '0',
	`status` enum('open','closed') NOT NULL DEFAULT 'open',
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `trades_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`email` varchar(254) NOT NULL,
	`password_hash` varchar(255) NOT NULL,
	`name` varchar(100) NOT NULL,
	`role` enum('user','admin') NOT NULL DEFAULT 'user',
	`trading_enabled` boolean NOT NULL DEFAULT true,
	`disabled_at` datetime(3),
	`last_login_at` datetime(3),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `users_id` PRIMARY KEY(`id`),
	CONSTRAINT `users_email_live_uq` UNIQUE(`email`,`live`)
);
--> statement-breakpoint
CREATE TABLE `webhook_logs` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`strategy_id` bigint unsigned NOT NULL,
	`trade_id` bigint unsigned,
	`source` enum('tradingview','simulation','replay') NOT NULL DEFAULT 'tradingview',
	`received_at` datetime(3) NOT NULL,
	`source_ip` varchar(45),
	`content_type` varchar(255),
	`raw_body` mediumtext NOT NULL,
	`payload` json,
	`dedup_key` varchar(255),
	`duplicate_of` bigint unsigned,
	`status` enum('received','duplicate','rejected','executing','executed','staged','ignored','failed') NOT NULL DEFAULT 'received',
	`error_code` varchar(64),
	`error_message` varchar(1000),
	`request_id` varchar(64),
	`processing_ms` int unsigned,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
	`deleted_at` datetime(3),
	`deleted_by` bigint unsigned,
	`live` tinyint GENERATED ALWAYS AS (if(deleted_at is null,1,null)) VIRTUAL,
	CONSTRAINT `webhook_logs_id` PRIMARY KEY(`id`),
	CONSTRAINT `webhook_logs_strategy_id_dedup_key_uq` UNIQUE(`strategy_id`,`dedup_key`)
);
--> statement-breakpoint
ALTER TABLE `broker_connections` ADD CONSTRAINT `broker_connections_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_broker_connection_id_fk` FOREIGN KEY (`broker_connection_id`) REFERENCES `broker_connections`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_webhook_log_id_fk` FOREIGN KEY (`webhook_log_id`) REFERENCES `webhook_logs`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_trade_id_fk` FOREIGN KEY (`trade_id`) REFERENCES `trades`(`id`) ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `broker_orders` ADD CONSTRAINT `broker_orders_parent_order_id_fk` FOREIGN KEY (`parent_order_id`) REFERENCES `broker_orders`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `dead_letters` ADD CONSTRAINT `dead_letters_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `fills` ADD CONSTRAINT `fills_broker_order_id_fk` FOREIGN KEY (`broker_order_id`) REFERENCES `broker_orders`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `notification_channels` ADD CONSTRAINT `notification_channels_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `notifications` ADD CONSTRAINT `notifications_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `open_positions` ADD CONSTRAINT `open_positions_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `open_positions` ADD CONSTRAINT `open_positions_broker_connection_id_fk` FOREIGN KEY (`broker_connection_id`) REFERENCES `broker_connections`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `reconciliation_runs` ADD CONSTRAINT `reconciliation_runs_broker_connection_id_fk` FOREIGN KEY (`broker_connection_id`) REFERENCES `broker_connections`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `routing_rules` ADD CONSTRAINT `routing_rules_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `routing_rules` ADD CONSTRAINT `routing_rules_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `routing_rules` ADD CONSTRAINT `routing_rules_broker_connection_id_fk` FOREIGN KEY (`broker_connection_id`) REFERENCES `broker_connections`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `sessions` ADD CONSTRAINT `sessions_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `staging_trades` ADD CONSTRAINT `staging_trades_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `staging_trades` ADD CONSTRAINT `staging_trades_webhook_log_id_fk` FOREIGN KEY (`webhook_log_id`) REFERENCES `webhook_logs`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `strategies` ADD CONSTRAINT `strategies_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `trades` ADD CONSTRAINT `trades_user_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `trades` ADD CONSTRAINT `trades_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `trades` ADD CONSTRAINT `trades_broker_connection_id_fk` FOREIGN KEY (`broker_connection_id`) REFERENCES `broker_connections`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `webhook_logs` ADD CONSTRAINT `webhook_logs_strategy_id_fk` FOREIGN KEY (`strategy_id`) REFERENCES `strategies`(`id`) ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `webhook_logs` ADD CONSTRAINT `webhook_logs_trade_id_fk` FOREIGN KEY (`trade_id`) REFERENCES `trades`(`id`) ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `audit_logs_user_id_created_at_idx` ON `audit_logs` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `audit_logs_resource_type_resource_id_created_at_idx` ON `audit_logs` (`resource_type`,`resource_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `broker_orders_broker_connection_id_status_updated_at_idx` ON `broker_orders` (`broker_connection_id`,`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `broker_orders_strategy_id_symbol_status_created_at_idx` ON `broker_orders` (`strategy_id`,`symbol`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `broker_orders_user_id_created_at_idx` ON `broker_orders` (`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `broker_orders_webhook_log_id_idx` ON `broker_orders` (`webhook_log_id`);--> statement-breakpoint
CREATE INDEX `broker_orders_trade_id_idx` ON `broker_orders` (`trade_id`);--> statement-breakpoint
CREATE INDEX `broker_orders_parent_order_id_idx` ON `broker_orders` (`parent_order_id`);--> statement-breakpoint
CREATE INDEX `dead_letters_status_created_at_idx` ON `dead_letters` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `dead_letters_user_id_status_idx` ON `dead_letters` (`user_id`,`status`);--> statement-breakpoint
CREATE INDEX `notifications_user_id_is_read_created_at_idx` ON `notifications` (`user_id`,`is_read`,`created_at`);--> statement-breakpoint
CREATE INDEX `open_positions_broker_connection_id_symbol_idx` ON `open_positions` (`broker_connection_id`,`symbol`);--> statement-breakpoint
CREATE INDEX `reconciliation_runs_broker_connection_id_started_at_idx` ON `reconciliation_runs` (`broker_connection_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `routing_rules_user_id_idx` ON `routing_rules` (`user_id`);--> statement-breakpoint
CREATE INDEX `routing_rules_broker_connection_id_idx` ON `routing_rules` (`broker_connection_id`);--> statement-breakpoint
CREATE INDEX `sessions_family_id_idx` ON `sessions` (`family_id`);--> statement-breakpoint
CREATE INDEX `sessions_user_id_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `staging_trades_strategy_id_status_created_at_idx` ON `staging_trades` (`strategy_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `staging_trades_status_expires_at_idx` ON `staging_trades` (`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `staging_trades_webhook_log_id_idx` ON `staging_trades` (`webhook_log_id`);--> statement-breakpoint
CREATE INDEX `trades_strategy_id_entry_date_exit_date_idx` ON `trades` (`strategy_id`,`entry_date`,`exit_date`);--> statement-breakpoint
CREATE INDEX `trades_strategy_id_status_idx` ON `trades` (`strategy_id`,`status`);--> statement-breakpoint
CREATE INDEX `trades_user_id_status_exit_date_idx` ON `trades` (`user_id`,`status`,`exit_date`);--> statement-breakpoint
CREATE INDEX `trades_broker_connection_id_idx` ON `trades` (`broker_connection_id`);--> statement-breakpoint
CREATE INDEX `webhook_logs_strategy_id_created_at_idx` ON `webhook_logs` (`strategy_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_logs_status_created_at_idx` ON `webhook_logs` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_logs_trade_id_idx` ON `webhook_logs` (`trade_id`);