/**
 * A Chromium for browser tests (playwright-core drives it; Playwright never downloads a
 * browser of its own). CHROMIUM_PATH if set, else Debian's /usr/bin/chromium, installed
 * with apt-get when missing and this process may.
 */
import { ensureDebianPackage, executable } from "./debian";
import { MissingPieceError } from "./provision";

export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/** How the browser tests run it: headless, as root in a container, and asking nothing of the network. */
export const HEADLESS_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** The path of a Chromium binary: CHROMIUM_PATH, else /usr/bin/chromium (installed first if missing). */
export async function ensureChromium(say: (line: string) => void = console.log): Promise<string> {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!executable(given)) throw new MissingPieceError(`CHROMIUM_PATH is ${given}, which is not an executable file.`);
    return given;
  }
  const help =
    "Install Debian's chromium package (as root: apt-get update && apt-get install -y --no-install-recommends chromium), " +
    "or set CHROMIUM_PATH to a Chromium or Chrome binary.";
  await ensureDebianPackage("chromium", [DEBIAN_CHROMIUM], help, say);
  return DEBIAN_CHROMIUM;
}
