ALTER TABLE `reconciliation_runs` ADD `heartbeat_at` datetime(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL;--> statement-breakpoint
-- A run left unfinished before heartbeats existed last proved alive when it started: the next claim closes it.
UPDATE `reconciliation_runs` SET `heartbeat_at` = `started_at` WHERE `status` IS NULL;
