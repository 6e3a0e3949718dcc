/** What is left of a process group, for the tests that check `npm start` leaves nothing behind. */
import { readdirSync, readFileSync } from "node:fs";
import { eventually } from "./eventually.ts";

/**
 * Live processes in process group `group`, from /proc/<pid>/stat: after the command in parentheses come the
 * state and then, third, the group. Zombies are dead already (their reaper may be slow in a container).
 */
function members(group: number): number[] {
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  return pids
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return state !== "Z" && Number(pgrp) === group;
      } catch {
        return false; /* exited while we looked */
      }
    })
    .map(Number);
}

/** SIGKILL is delivered asynchronously: the group may take a moment to go after the script has exited. */
export const groupGone = (group: number) => eventually(() => members(group), (m) => m.length === 0);
