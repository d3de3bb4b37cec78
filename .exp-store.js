const { MongoClient } = require('mongodb');
const { RateLimiterMongoById } = require('./dist/src/auth/rate-limit-store');
(async () => {
  const client = new MongoClient('mongodb://127.0.0.1:27999/', { retryWrites: false });
  await client.connect();
  const db = client.db('exp');
  const l = new RateLimiterMongoById(db, { keyPrefix: 't', points: 2, duration: 1 });
  const key = 'k' + Date.now();
  const out = (p) => p.then(r => 'ok ' + r.consumedPoints, e => 'no ' + (e.consumedPoints ?? e.message));
  console.log(await Promise.all([0,1,2].map(() => out(l.consume(key)))));
  console.log(await db.collection('rate_limits').find({ _id: 't:' + key }).toArray());
  await new Promise(r => setTimeout(r, 1100));
  console.log('get', await l.get(key));
  console.log(await Promise.all([0,1,2].map(() => out(l.consume(key)))));
  console.log(await db.collection('rate_limits').find({ _id: 't:' + key }).toArray());
  await client.close();
})();
