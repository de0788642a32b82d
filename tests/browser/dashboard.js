// SPDX-License-Identifier: MIT
// The dashboard in a real browser (tests/integration/65-dashboard/
// 02-browser.py runs it against a fresh cellgated): log in, start a
// rollout from the config page, watch it progress live (no reload),
// approve it as an approver, abort another, roll back, view a diff,
// verify the audit chain, log out; axe-core on every page (0 serious or
// critical violations); a screenshot of every page into $CG_ARTIFACTS.
//
// Environment: CG_URL (http://127.0.0.1:PORT), CG_UI (the base path),
// CG_ADMIN (an admin token: the setup and the simulated fleet use the API),
// CG_ARTIFACTS (screenshots). Prints one line per check ("ok NAME" or
// "FAIL NAME: why") and exits 1 on any failure.
'use strict';
const lib = require('./lib');

const URL0 = process.env.CG_URL;
const UI = process.env.CG_UI || '/ui';
const ADMIN = process.env.CG_ADMIN;
const ART = process.env.CG_ARTIFACTS || '/tmp/cg-browser';
const SLOW = process.env.CG_SANITIZED ? 3 : 1;

let failures = 0;
let checks = 0;
function check(name, ok, why) {
  checks++;
  if (ok) {
    console.log('ok ' + name);
  } else {
    failures++;
    console.log('FAIL ' + name + ': ' + (why || ''));
  }
}

async function api(method, path, body, token) {
  const r = await fetch(URL0 + path, {
    method,
    headers: { Authorization: 'Bearer ' + (token || ADMIN), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, body: json, text };
}

async function must(method, path, body, want, token) {
  const r = await api(method, path, body, token);
  if (r.status !== want) throw new Error(method + ' ' + path + ': ' + r.status + ' ' + r.text);
  return r.body;
}

// The simulated fleet: one host per cell reports its cell's assignment as
// applied, healthy, every 150 ms (the API's agent report, as the admin).
function fleet(cells) {
  let seq = 0;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      try {
        const a = await api('GET', '/v1/configs/web/assignments');
        for (const x of (a.body && a.body.assignments) || []) {
          seq++;
          await api('POST', '/v1/agent/report', {
            host: 'h-' + x.cell, cell: x.cell, seq, window_ms: 150,
            configs: [{ config: 'web', version: x.version, generation: x.generation,
                        outcome: 'applied', lkg_version: x.version, lkg_generation: x.generation }],
            health: { requests: 50, errors: 0 },
          });
        }
      } catch (e) { /* the server may be busy; try again */ }
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const done = loop();
  return async () => { stop = true; await done; };
}

async function setup() {
  const cells = ['c1', 'c2', 'c3'];
  for (let i = 0; i < cells.length; i++) {
    await must('POST', '/v1/cells', { id: cells[i], region: 'r1', zone: 'z' + i }, 201);
  }
  await must('POST', '/v1/configs', { name: 'web', kind: 'config', contract: { schema: {
    type: 'object', properties: { limit: { type: 'integer' }, mode: { type: 'string' } } } } }, 201);
  for (const doc of [{ limit: 10, mode: 'a' }, { limit: 20, mode: 'a' }, { limit: 30, mode: 'b' },
                     { limit: 40, mode: 'b' }]) {
    await must('POST', '/v1/configs/web/versions?message=browser', doc, 201);
  }
  // slow enough to watch: each wave bakes a few seconds; the second wave
  // needs an approval
  await must('PUT', '/v1/plans/watch', { waves: [
    { name: 'first', cells: 1, bake_s: 3, min_requests: 0 },
    { name: 'rest', percent: 100, bake_s: 1, min_requests: 0, approval: true }] }, 201);
  await must('PUT', '/v1/plans/slow', { waves: [
    { name: 'first', cells: 1, bake_s: 600, min_requests: 0 },
    { name: 'rest', percent: 100, bake_s: 0 }] }, 201);
  await must('PUT', '/v1/configs/web/plan', { plan: 'watch' }, 200);
  await must('POST', '/v1/configs/web/assign', { version: 1, cells, force: true, reason: 'baseline' },
             201);
  const tokens = {};
  for (const role of ['deployer', 'approver', 'reader']) {
    tokens[role] = (await must('POST', '/v1/tokens', { name: 'b-' + role, role }, 201)).token;
  }
  return { cells, tokens };
}

async function login(page, token) {
  await page.goto(URL0 + UI + '/login', { waitUntil: 'load' });
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#login-submit')]);
}

// Every page visited: screenshot and axe (in a CSP-bypassing twin page:
// the dashboard's CSP rightly forbids the injected axe script).
async function audit(browser, cookies, path, name) {
  const p = await browser.newPage();
  await p.setBypassCSP(true);
  await p.setCookie(...cookies);
  const r = await p.goto(URL0 + path, { waitUntil: 'load' });
  await lib.shot(p, ART, name);
  const v = await lib.axeSerious(p);
  check('axe ' + name, r.status() === 200 && v.length === 0,
        'status ' + r.status() + ' ' + JSON.stringify(v));
  await p.close();
}

async function clickAction(page, action) {
  const sel = 'form.action[data-action="' + action + '"] button';
  await page.waitForSelector(sel);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(sel)]);
  await page.waitForSelector('#confirm-submit');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#confirm-submit')]);
}

async function stateOf(page) {
  return page.$eval('#rollout-state', (e) => e.textContent.trim());
}

async function main() {
  const { tokens } = await setup();
  const stopFleet = fleet();
  const browser = await lib.launch();
  const errors = [];
  try {
    // -- a deployer logs in and starts a rollout from the config page
    const dep = await lib.newPage(browser, errors);
    await login(dep, tokens.deployer);
    check('login lands on the overview', dep.url().split('?')[0] === URL0 + UI + '/', dep.url());
    const cookies = await dep.cookies();
    const sess = cookies.find((c) => c.name === 'cg_session');
    check('session cookie HttpOnly SameSite=Strict', sess && sess.httpOnly &&
          sess.sameSite === 'Strict', JSON.stringify(sess));
    await audit(browser, cookies, UI + '/', 'overview');

    await dep.goto(URL0 + UI + '/configs/web', { waitUntil: 'load' });
    await audit(browser, cookies, UI + '/configs/web', 'config');
    await dep.select('form.action[data-action="start"] select[name="version"]', '2');
    await dep.select('form.action[data-action="start"] select[name="plan"]', 'watch');
    await clickAction(dep, 'start');
    const m = dep.url().match(/\/rollouts\/(\d+)/);
    check('start lands on the rollout page', m, dep.url());
    const rid = m ? Number(m[1]) : 0;
    await audit(browser, cookies, UI + '/rollouts/' + rid, 'rollout');

    // -- live: the page changes without a reload (a marker set in the
    // page survives), within a second of the server's change
    await dep.evaluate(() => { window.cgMarker = 42; });
    const first = await stateOf(dep);
    await lib.until('the rollout page shows the approval wait live', async () => {
      const s = await stateOf(dep);
      return /approval/.test(s) ? s : null;
    }, 20000 * SLOW);
    check('live update without reload', await dep.evaluate(() => window.cgMarker === 42),
          'the page was reloaded (state was ' + first + ')');
    const t0 = Date.now();
    await lib.shot(dep, ART, 'rollout-awaiting-approval');

    // -- the deployer sees no approve button; an approver approves
    check('deployer sees no approve form',
          (await dep.$('form.action[data-action="approve"]')) === null);
    const ctx = await browser.createBrowserContext();
    const apr = await ctx.newPage();
    await login(apr, tokens.approver);
    await apr.goto(URL0 + UI + '/rollouts/' + rid, { waitUntil: 'load' });
    check('approver sees no abort form', (await apr.$('form.action[data-action="abort"]')) === null);
    await clickAction(apr, 'approve');
    const flash = await apr.$eval('#flash', (e) => e.textContent).catch(() => '');
    check('approve confirmed', /approv/i.test(flash), flash);
    // the deployer's page moves on by itself
    await lib.until('the deployer\'s page shows the rollout complete', async () => {
      const s = await stateOf(dep);
      return s === 'completed' ? s : null;
    }, 30000 * SLOW);
    check('completed seen live', await dep.evaluate(() => window.cgMarker === 42));
    console.log('info approve_to_completed_ms=' + (Date.now() - t0));
    await ctx.close();

    // -- abort a slow rollout
    const slow = await must('POST', '/v1/rollouts', { config: 'web', version: 3, plan: 'slow',
                                                      reason: 'to abort' }, 201);
    await dep.goto(URL0 + UI + '/rollouts/' + slow.id, { waitUntil: 'load' });
    await clickAction(dep, 'abort');
    const ab = await must('GET', '/v1/rollouts/' + slow.id, undefined, 200);
    check('abort through the dashboard', ab.state === 'aborted', ab.state);

    // -- roll back from the config page (to version 1)
    await dep.goto(URL0 + UI + '/configs/web', { waitUntil: 'load' });
    const rbSel = 'form.action[data-action="rollback"] select[name="to"]';
    if (await dep.$(rbSel)) await dep.select(rbSel, '1');
    await clickAction(dep, 'rollback');
    const list = await must('GET', '/v1/rollouts?config=web', undefined, 200);
    const rb = list.rollouts.find((r) => r.kind === 'rollback');
    const said = await dep.$eval('main', (e) => e.textContent).catch(() => '');
    check('rollback started through the dashboard', rb && rb.to_version === 1,
          said.trim().slice(0, 300) + ' ' + JSON.stringify(list));

    // -- a diff between two versions
    await dep.goto(URL0 + UI + '/configs/web/diff?a=1&b=3', { waitUntil: 'load' });
    const diff = await dep.$eval('#diff', (e) => e.innerHTML);
    check('diff shows removed and added lines', /<del/.test(diff) && /<ins/.test(diff) &&
          diff.includes('30'), diff.slice(0, 300));
    await audit(browser, cookies, UI + '/configs/web/diff?a=1&b=3', 'diff');

    // -- the audit page verifies the chain
    await dep.goto(URL0 + UI + '/audit', { waitUntil: 'load' });
    const verify = await dep.$eval('#audit-verify', (e) => e.textContent);
    check('audit chain verified', /verified/i.test(verify) && !/broken/i.test(verify), verify);
    await audit(browser, cookies, UI + '/audit', 'audit');

    // -- the other pages, axe only
    for (const [p, name] of [['/cells', 'cells'], ['/hosts', 'hosts'], ['/changes', 'changes'],
                             ['/why?cell=c1&window=10m', 'why'], ['/hosts/h-c1', 'host'],
                             ['/configs/web/rollback', 'confirm'],
                             ['/delivery', 'delivery'], ['/configs', 'configs']]) {
      await audit(browser, cookies, UI + p, name);
    }
    const login2 = await browser.newPage();
    await login2.setBypassCSP(true);
    await login2.goto(URL0 + UI + '/login', { waitUntil: 'load' });
    const lv = await lib.axeSerious(login2);
    check('axe login', lv.length === 0, JSON.stringify(lv));
    await lib.shot(login2, ART, 'login');

    // -- log out: the session is gone
    await dep.goto(URL0 + UI + '/', { waitUntil: 'load' });
    await dep.bringToFront(); // other tabs were opened since: click in the visible one
    await Promise.all([dep.waitForNavigation({ waitUntil: 'load' }), dep.click('#logout-submit')]);
    await dep.goto(URL0 + UI + '/', { waitUntil: 'load' });
    check('logged out goes to login', /\/login/.test(dep.url()), dep.url());
    check('no console errors or CSP violations', errors.length === 0, errors.join('; '));
  } finally {
    await browser.close();
    await stopFleet();
  }
  console.log('browser: ' + (checks - failures) + ' passed, ' + failures + ' failed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.log('FAIL exception: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
