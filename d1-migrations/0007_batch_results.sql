CREATE TABLE `batch_results` (
	`batch_id` text NOT NULL,
	`part` integer NOT NULL,
	`line` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	PRIMARY KEY(`batch_id`, `part`, `line`)
);
