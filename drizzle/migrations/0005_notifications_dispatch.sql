ALTER TABLE `notifications` ADD `dispatched_at` datetime(3);--> statement-breakpoint
CREATE INDEX `notifications_user_id_id_idx` ON `notifications` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `notifications_dispatched_at_id_idx` ON `notifications` (`dispatched_at`,`id`);--> statement-breakpoint
-- Notifications written before channel delivery existed are not sent now: they count as dispatched.
UPDATE `notifications` SET `dispatched_at` = `created_at` WHERE `dispatched_at` IS NULL;