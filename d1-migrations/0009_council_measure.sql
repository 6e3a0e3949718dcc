DROP INDEX `councils_outcome_due`;--> statement-breakpoint
ALTER TABLE `councils` ADD `measure_tried_at` integer;--> statement-breakpoint
ALTER TABLE `councils` ADD `measure_error` text;--> statement-breakpoint
CREATE INDEX `councils_outcome_due` ON `councils` (`preset`,`outcome`,`measure_tried_at`,`decided_at`);