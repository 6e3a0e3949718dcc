import { afterAll } from "vitest";

/**
 * The Worker under test goes on a little after a test file's last await: a socket the test closed reaches its
 * Durable Object's webSocketClose, an alarm set a few ms ahead fires. Each such invocation loads the Worker's
 * module through vitest's runner ("resolve"), and one that starts while the file's runtime is being torn down
 * fails the whole run with "Closing rpc while "resolve" was pending", every test green (seen in CI under load,
 * from files whose last test closes a session socket). Letting that trailing work run before the file ends
 * keeps it inside the file. Not a wait for any result: no test reads anything after it.
 */
const SETTLE_MS = 300;

afterAll(() => new Promise<void>((resolve) => setTimeout(resolve, SETTLE_MS)));
