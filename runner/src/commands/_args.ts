/** Arguments shared by several commands. */
import { DEFAULT_CONFIG_PATH } from "../config/load.ts";

export const configArg = {
  config: {
    type: "string",
    alias: "c",
    description: "Path of the config file",
    default: DEFAULT_CONFIG_PATH,
  },
} as const;

/** Where commands print their report; tests replace it to capture output. */
export const out = {
  print: (line: string) => console.log(line),
};
