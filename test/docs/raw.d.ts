// Vite (vitest) imports a file's text with `?raw`; the test reads the README this way, with the Workers' types.
declare module "*.md?raw" {
  const text: string;
  export default text;
}
