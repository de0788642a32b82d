// SPDX-License-Identifier: MIT
// reference.js: the reference side of the flagd differential test.
//
// Usage: node reference.js DOCUMENT.json NOW_S < requests.jsonl > results.jsonl
//
// Evaluates every request (see flagd_eval.c for the format) with
// @openfeature/flagd-core, flagd's own in-process evaluator, at the fixed
// time NOW_S, and writes one result line per request. A result also says
// whether fractional hashed a non-ASCII bucketing value during that
// evaluation ("nonascii_hash"): flagd-core's MurmurHash3 (imurmurhash) reads
// UTF-16 code units where flagd and the other providers hash UTF-8 bytes,
// one of the deliberate differences (differences.md).
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const Module = require('module');

let nonAscii = false;
// Wrap imurmurhash before flagd-core loads it, to see what it hashes.
const mmPath = require.resolve('imurmurhash', { paths: [__dirname] });
const RealMurmur = require(mmPath);
function WrappedMurmur(key, seed) {
  if (typeof key === 'string' && /[^\x00-\x7f]/.test(key)) {
    nonAscii = true;
  }
  if (new.target) {
    return new RealMurmur(key, seed);
  }
  return RealMurmur(key, seed);
}
require.cache[mmPath].exports = WrappedMurmur;

const { FlagdCore } = require(require.resolve('@openfeature/flagd-core', { paths: [__dirname] }));

const [doc, now] = process.argv.slice(2);
const nowMs = Number(now) * 1000;
Date.now = () => nowMs;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const core = new FlagdCore(undefined, quiet);
core.setConfigurations(fs.readFileSync(doc, 'utf8'));

const SENTINEL = { sentinel: true };
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
rl.on('line', (line) => {
  if (!line.trim()) return;
  const req = JSON.parse(line);
  nonAscii = false;
  const r = core.resolve(req.type, req.flag, SENTINEL, req.context || {}, quiet);
  out.push(JSON.stringify({
    value: r.value === SENTINEL || r.value === undefined ? null : r.value,
    variant: r.variant === undefined ? null : r.variant,
    reason: r.reason,
    error: r.errorCode || '',
    nonascii_hash: nonAscii,
  }));
  if (out.length >= 1000) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
});
rl.on('close', () => {
  if (out.length) process.stdout.write(out.join('\n') + '\n');
});
