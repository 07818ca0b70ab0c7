// Debian's Chromium (/usr/bin/chromium, or LOCALRDS_CHROMIUM) under Playwright (playwright-core,
// which brings no browser of its own), headless, kept off the network it has no business on.
"use strict";

const fs = require("fs");
const path = require("path");

let playwright;
try {
  playwright = require("playwright-core");
} catch (e) {
  throw new Error("playwright-core is not installed in tests/browser/node_modules: run " +
                  "scripts/install-deps.sh --test (npm ci --prefix tests/browser)");
}

const CHROMIUM = process.env.LOCALRDS_CHROMIUM || "/usr/bin/chromium";

// What Chromium needs as root in a container, and what keeps it from calling home (the same
// flags as tests/e2e/browser.py).
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
  "--mute-audio", "--no-proxy-server", "--disable-dev-shm-usage",
];

async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium package ` +
                    "(scripts/install-deps.sh --test installs it)");
  }
  return playwright.chromium.launch({executablePath: CHROMIUM, args: FLAGS, headless: true});
}

function screenshotDir() {
  const dir = process.env.LOCALRDS_SCREENSHOTS ||
              path.resolve(__dirname, "..", "..", "..", "build", "browser-screenshots");
  fs.mkdirSync(dir, {recursive: true});
  return dir;
}

module.exports = {launch, screenshotDir, CHROMIUM};
