PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_agent_continuations` (
	`tenant_id` text NOT NULL,
	`key_id` text NOT NULL,
	`call_id` text NOT NULL,
	`request_id` text NOT NULL,
	`client_calls` text NOT NULL,
	`turn` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `key_id`, `call_id`)
);
--> statement-breakpoint
-- The kept turns are not copied: they name no key, so no key could be given them back (they would expire unread).
DROP TABLE `agent_continuations`;--> statement-breakpoint
ALTER TABLE `__new_agent_continuations` RENAME TO `agent_continuations`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `agent_continuations_tenant_time` ON `agent_continuations` (`tenant_id`,`created_at`);