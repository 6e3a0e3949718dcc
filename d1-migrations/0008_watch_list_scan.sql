DROP INDEX `watch_list_enabled`;--> statement-breakpoint
ALTER TABLE `watch_list` ADD `last_scanned_at` integer;--> statement-breakpoint
CREATE INDEX `watch_list_scan` ON `watch_list` (`enabled`,`last_scanned_at`);