ALTER TABLE `tasks` ADD `claim` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `claimed_at` integer;