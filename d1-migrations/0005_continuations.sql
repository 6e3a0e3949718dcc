CREATE TABLE `agent_continuations` (
	`tenant_id` text NOT NULL,
	`call_id` text NOT NULL,
	`request_id` text NOT NULL,
	`client_calls` text NOT NULL,
	`turn` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `call_id`)
);
--> statement-breakpoint
CREATE INDEX `agent_continuations_tenant_time` ON `agent_continuations` (`tenant_id`,`created_at`);