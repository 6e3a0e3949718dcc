/** Names for the PostgreSQL type OIDs a model is likely to meet; others are reported as `oid:<n>`. */
const NAMES: Record<number, string> = {
  16: "boolean", 17: "bytea", 18: "char", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 26: "oid",
  114: "json", 700: "real", 701: "double precision", 790: "money", 1042: "character", 1043: "character varying",
  1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamptz", 1186: "interval", 1266: "timetz",
  1700: "numeric", 2950: "uuid", 3802: "jsonb", 1000: "boolean[]", 1005: "smallint[]", 1007: "integer[]",
  1016: "bigint[]", 1009: "text[]", 1015: "character varying[]", 1021: "real[]", 1022: "double precision[]",
  1231: "numeric[]", 2951: "uuid[]", 869: "inet", 650: "cidr", 829: "macaddr", 2249: "record", 2278: "void",
  199: "json[]", 3807: "jsonb[]", 1187: "interval[]", 600: "point", 718: "circle", 1017: "point[]", 1001: "bytea[]",
  1182: "date[]", 1183: "time[]", 1115: "timestamp[]", 1185: "timestamptz[]",
};

export const pgTypeName = (oid: number): string => NAMES[oid] ?? `oid:${oid}`;
