// SPDX-License-Identifier: MIT
// The real OpenFeature Node.js server SDK with the OFREP provider against a
// cellgated (tests/integration/35-flags/03-openfeature-client.py runs it).
// Reads CG_URL and CG_TOKEN; prints one JSON line per evaluation asked for
// on the command line as "TYPE:KEY:CONTEXT_JSON:DEFAULT_JSON".
'use strict';
const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');

async function main() {
  const provider = new OFREPProvider({
    baseUrl: process.env.CG_URL,
    headers: { Authorization: 'Bearer ' + process.env.CG_TOKEN },
  });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  for (const arg of process.argv.slice(2)) {
    const [type, key, ctx, def] = arg.split('|');
    const context = JSON.parse(ctx);
    const dflt = JSON.parse(def);
    let d;
    if (type === 'boolean') d = await client.getBooleanDetails(key, dflt, context);
    else if (type === 'string') d = await client.getStringDetails(key, dflt, context);
    else if (type === 'number') d = await client.getNumberDetails(key, dflt, context);
    else d = await client.getObjectDetails(key, dflt, context);
    console.log(JSON.stringify({ key, value: d.value, variant: d.variant ?? null,
                                 reason: d.reason, errorCode: d.errorCode ?? null,
                                 metadata: d.flagMetadata }));
  }
  await OpenFeature.close();
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
