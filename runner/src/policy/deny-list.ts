/**
 * Functions a read-only SELECT must not call: they write files, signal other sessions, change settings, take
 * locks, reach other servers, or read the server's disk. The read-only transaction stops most writes anyway;
 * this list stops the rest and gives a clear reason. pg_sleep is deliberately absent: the statement timeout
 * bounds it. Names are compared in lower case.
 */
import type { Dialect } from "./dialect.ts";

const POSTGRES_EXACT = [
  "pg_terminate_backend", "pg_cancel_backend", "pg_signal_backend", "pg_reload_conf", "pg_rotate_logfile",
  "pg_promote", "pg_stat_file", "pg_log_backend_memory_contexts", "pg_export_snapshot", "pg_notify",
  "pg_import_system_collations", "set_config", "nextval", "setval", "txid_current", "pg_current_xact_id",
  "cursor_to_xml", "cursor_to_xmlschema", "table_to_xml", "table_to_xml_and_xmlschema", "schema_to_xml",
  "schema_to_xml_and_xmlschema",
  "database_to_xml", "database_to_xml_and_xmlschema", "pg_logdir_ls", "pg_stat_statements_reset",
  "lowrite", "loread",
  // Index and heap maintenance that writes lasting changes even inside a read-only transaction.
  "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
  // Extensions' (pg_surgery, pg_visibility, pg_prewarm): rows killed or frozen for good, a visibility map
  // truncated, a file written or a worker started; pageinspect's raw pages of any table, past allow-list and mask.
  "heap_force_kill", "heap_force_freeze", "pg_truncate_visibility_map", "autoprewarm_dump_now", "autoprewarm_start_worker",
  "get_raw_page", "bt_page_items",
];
/** They run SQL passed as text, which this policy never sees: its tables, columns and functions go unchecked. */
const POSTGRES_RUN_SQL = [
  "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "ts_stat", "ts_rewrite", "connectby",
  "crosstab", "crosstab2", "crosstab3", "crosstab4", "xpath_table",
];
const POSTGRES_PREFIXES = [
  "pg_read_", "pg_ls_", "pg_file_", "lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_stat_reset",
  "pg_replication_", "pg_logical_", "pg_create_", "pg_drop_", "pg_start_", "pg_stop_", "pg_backup_",
  "pg_switch_", "pg_wal_replay_", "pg_xlog", "pg_copy_",
];
const MYSQL_EXACT = [
  "sleep", "benchmark", "load_file", "get_lock", "release_lock", "release_all_locks", "is_used_lock",
  "master_pos_wait", "source_pos_wait", "master_gtid_wait", "wait_for_executed_gtid_set",
  "wait_until_sql_thread_after_gtids", "sys_exec", "sys_eval", "last_insert_id", "nextval", "setval",
  "lastval",
];
const SQLITE_EXACT = ["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"];
const MSSQL_EXACT = ["openrowset", "openquery", "opendatasource", "fn_dblog", "fn_dump_dblog", "dm_db_stats_histogram"];
const MSSQL_PREFIXES = ["xp_", "sp_"];

interface DenyList {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
  runSql?: ReadonlySet<string>;
}

const LISTS: Record<Dialect, DenyList> = {
  postgresql: { exact: new Set(POSTGRES_EXACT), prefixes: POSTGRES_PREFIXES, runSql: new Set(POSTGRES_RUN_SQL) },
  mysql: { exact: new Set(MYSQL_EXACT), prefixes: [] },
  mariadb: { exact: new Set(MYSQL_EXACT), prefixes: [] },
  sqlite: { exact: new Set(SQLITE_EXACT), prefixes: [] },
  transactsql: { exact: new Set(MSSQL_EXACT), prefixes: MSSQL_PREFIXES },
};

/** Returns why `name` is refused, or null when it may be called. */
export function deniedFunction(dialect: Dialect, name: string, extra: readonly string[] = []): string | null {
  const n = name.toLowerCase();
  const list = LISTS[dialect];
  if (list.runSql?.has(n)) return `function ${n}() is not allowed: it runs SQL given as text, which this policy cannot check`;
  if (list.exact.has(n) || extra.some((e) => e.toLowerCase() === n)) {
    return `function ${n}() is not allowed: it has side effects outside a read-only query`;
  }
  const prefix = list.prefixes.find((p) => n.startsWith(p));
  return prefix ? `function ${n}() is not allowed: ${prefix}* functions have side effects or read server files` : null;
}
