// SPDX-License-Identifier: MIT
// Helpers of the dashboard's browser tests: Debian's chromium, headless,
// driven by puppeteer-core (no browser download), axe-core run in each
// page, screenshots written as test artefacts.
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core'), 'utf8');

// The chromium binary: $CG_CHROMIUM, else Debian's.
function chromiumPath() {
  for (const p of [process.env.CG_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  throw new Error('no chromium: scripts/deps.sh installs Debian\'s chromium package');
}

// A headless browser. --no-sandbox: the tests run as root in CI, where
// chromium refuses its sandbox; the pages are our own, on 127.0.0.1.
async function launch() {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    protocolTimeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-extensions', '--proxy-server=direct://', '--proxy-bypass-list=*'],
  });
}

// Runs axe-core in the page and returns the serious and critical
// violations (the page's CSP forbids injected scripts, so the page is
// opened with CSP bypassed for the check only; see newPage()).
async function axeSerious(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const r = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// A page that records console errors and CSP violations (a page whose own
// script or style the CSP blocks is a bug). axe needs CSP bypassed: a
// second page, 'axePage', is opened with bypass for the accessibility
// check only.
async function newPage(browser, errors) {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  return page;
}

// Writes a screenshot of the page into the artefacts folder.
async function shot(page, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Polls fn() until it returns a truthy value or ms pass; returns the value.
async function until(what, fn, ms) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(what + ': not within ' + ms + ' ms (last: ' + JSON.stringify(last) + ')');
}

module.exports = { launch, axeSerious, newPage, shot, until, chromiumPath };
