// Bundles the CLI for Node 22: npm dependencies stay external (installed with the package), our own code and
// ../lib/protocol are bundled in, so the published package does not need the monorepo.
import { build } from "esbuild";
import { chmod } from "node:fs/promises";

const outfile = new URL("./dist/cli.js", import.meta.url).pathname;
await build({
  entryPoints: [new URL("./src/cli.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
  sourcemap: false,
  logLevel: "warning",
});
await chmod(outfile, 0o755);
console.log(`built ${outfile}`);
