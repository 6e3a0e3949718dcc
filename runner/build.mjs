// Bundles the CLI for Node 22: npm dependencies stay external (installed with the package), our own code and
// ../lib/protocol are bundled in, so the published package does not need the monorepo.
import { build } from "esbuild";
import { chmod } from "node:fs/promises";

const outdir = new URL("./dist", import.meta.url).pathname;
const outfile = `${outdir}/cli.js`;
await build({
  entryPoints: [new URL("./src/cli.ts", import.meta.url).pathname],
  outdir,
  // Each database driver becomes its own chunk, loaded only for the configured kind (with its npm package).
  splitting: true,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
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
