// SPDX-License-Identifier: MIT
// bench/flags_eval.js DOC CONTEXTS ITERATIONS: the peer of bench_flags_eval,
// @openfeature/flagd-core (flagd's own in-process evaluator, Node.js)
// evaluating every flag of DOC for every context (JSON lines), ITERATIONS
// times after a warm-up. Prints "RESULT ns_per_eval=.. evals=..".
'use strict';
const fs = require('fs');
const { FlagdCore } = require('@openfeature/flagd-core');

const [doc, ctxFile, itersArg] = process.argv.slice(2);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const core = new FlagdCore(undefined, quiet);
core.setConfigurations(fs.readFileSync(doc, 'utf8'));
const defs = JSON.parse(fs.readFileSync(doc, 'utf8')).flags;
const flags = Object.keys(defs);
// each flag with the type of its variants, as an application asks for it
const types = flags.map((f) => {
  const t = typeof Object.values(defs[f].variants)[0];
  return t === 'object' ? 'object' : t;
});
const dflt = { boolean: false, string: '', number: 0, object: {} };
const ctxs = fs.readFileSync(ctxFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const iters = Number(itersArg);
let sink = 0;
function run(n) {
  for (let i = 0; i < n; i++)
    for (const c of ctxs)
      for (let k = 0; k < flags.length; k++) {
        const res = core.resolve(types[k], flags[k], dflt[types[k]], c, quiet);
        if (res.value) sink++;
      }
}
run(Math.max(1, Math.floor(iters / 10)));
const t0 = process.hrtime.bigint();
run(iters);
const ns = Number(process.hrtime.bigint() - t0);
const evals = iters * ctxs.length * flags.length;
console.log(`RESULT ns_per_eval=${(ns / evals).toFixed(1)} evals=${evals} sink=${sink}`);
