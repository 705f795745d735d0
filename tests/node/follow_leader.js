// A Node client (grpc-js) of a jis leader and its standbys: nothing jis-specific but the
// documented service config. Publishes broadcasts ADD <line>-<k> for k in [first, last], one
// call each, and prints one JSON line per call: {"call": k, "ok": true|false, "code": ..}.
// Usage: node follow_leader.js ADDRESSES PROTO_DIR SERVICE_CONFIG LINE FIRST LAST
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [addresses, protoDir, configPath, line, first, last] = process.argv.slice(2);
const def = loader.loadSync(path.join(protoDir, 'jis/v1/broadcast.proto'), {
  includeDirs: [protoDir],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const jis = grpc.loadPackageDefinition(def).jis.v1;
const client = new jis.BroadcastService(`ipv4:${addresses}`, grpc.credentials.createInsecure(), {
  'grpc.service_config': fs.readFileSync(configPath, 'utf8'),
});

function publish(k) {
  return new Promise((resolve) => {
    const broadcast = {
      line_id: line,
      call_no: String(k),
      action: 'ACTION_ADD',
      vehicle_id: `${line}-${k}`,
      seq_no: String(k),
      parts: [{ group: 'SEAT', part_number: 'S-BLK', supplier_id: 'SUP1', quantity: 1 }],
    };
    const deadline = new Date(Date.now() + 15000);
    client.Publish({ broadcast }, { deadline }, (err, reply) => {
      resolve(err ? { call: k, ok: false, code: err.code, details: err.details } : { call: k, ok: true, disposition: reply.disposition });
    });
  });
}

(async () => {
  for (let k = Number(first); k <= Number(last); k++) {
    process.stdout.write(JSON.stringify(await publish(k)) + '\n');
  }
  client.close();
})();
