CREATE TABLE `assistant_weights` (
	`tenant_id` text NOT NULL,
	`assistant_id` text NOT NULL,
	`correct` integer DEFAULT 0 NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `assistant_id`)
);
--> statement-breakpoint
CREATE TABLE `council_decisions` (
	`tenant_id` text NOT NULL,
	`council_id` text NOT NULL,
	`kind` text NOT NULL,
	`option` text NOT NULL,
	`source` text NOT NULL,
	`note` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `council_id`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `council_positions` (
	`tenant_id` text NOT NULL,
	`council_id` text NOT NULL,
	`round` integer NOT NULL,
	`assistant_id` text NOT NULL,
	`option` text NOT NULL,
	`confidence` real NOT NULL,
	`reasoning` text NOT NULL,
	`weight` real NOT NULL,
	`error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `council_id`, `round`, `assistant_id`)
);
--> statement-breakpoint
CREATE TABLE `council_rounds` (
	`tenant_id` text NOT NULL,
	`council_id` text NOT NULL,
	`round` integer NOT NULL,
	`tally` text NOT NULL,
	`leader` text,
	`share` real NOT NULL,
	`consensus` integer NOT NULL,
	`finished_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `council_id`, `round`)
);
--> statement-breakpoint
CREATE TABLE `councils` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`question` text NOT NULL,
	`context` text,
	`preset` text,
	`symbol` text,
	`options` text,
	`assistants` text NOT NULL,
	`threshold` real NOT NULL,
	`max_rounds` integer NOT NULL,
	`status` text NOT NULL,
	`decision` text,
	`decision_source` text,
	`ref_price` real,
	`outcome` text,
	`outcome_source` text,
	`session_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`decided_at` integer,
	`outcome_at` integer,
	PRIMARY KEY(`tenant_id`, `id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `councils_outcome_due` ON `councils` (`preset`,`outcome`,`decided_at`);--> statement-breakpoint
CREATE TABLE `paper_orders` (
	`tenant_id` text NOT NULL,
	`council_id` text NOT NULL,
	`symbol` text NOT NULL,
	`side` text NOT NULL,
	`qty` real NOT NULL,
	`price` real NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`realized_pnl` real DEFAULT 0 NOT NULL,
	`day` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `council_id`)
);
--> statement-breakpoint
CREATE INDEX `paper_orders_day` ON `paper_orders` (`tenant_id`,`day`);--> statement-breakpoint
CREATE TABLE `paper_positions` (
	`tenant_id` text NOT NULL,
	`symbol` text NOT NULL,
	`qty` real DEFAULT 0 NOT NULL,
	`avg_price` real DEFAULT 0 NOT NULL,
	`realized_pnl` real DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `symbol`)
);
--> statement-breakpoint
CREATE TABLE `risk_limits` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`max_position` real NOT NULL,
	`max_daily_loss` real NOT NULL,
	`order_notional` real NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `watch_list` (
	`tenant_id` text NOT NULL,
	`symbol` text NOT NULL,
	`threshold_pct` real NOT NULL,
	`window_minutes` integer NOT NULL,
	`note` text,
	`enabled` integer DEFAULT true NOT NULL,
	`last_council_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `symbol`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `watch_list_enabled` ON `watch_list` (`enabled`);