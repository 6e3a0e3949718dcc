CREATE TABLE `batch_starts` (
	`batch_id` text NOT NULL,
	`part` integer NOT NULL,
	`line` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`claim` text NOT NULL,
	`claimed_at` integer NOT NULL,
	PRIMARY KEY(`batch_id`, `part`, `line`)
);
--> statement-breakpoint
ALTER TABLE `batch_parts` ADD `claim` text;--> statement-breakpoint
ALTER TABLE `batch_parts` ADD `claimed_at` integer;