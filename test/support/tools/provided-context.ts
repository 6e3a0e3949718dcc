/** Values the tool projects' globalSetup provides to their configs and tests (vitest's inject()). */
declare module "vitest" {
  interface ProvidedContext {
    /** Base URL (no trailing slash) of the local server replaying recorded upstream responses. */
    upstreamUrl: string;
  }
}

export {};
