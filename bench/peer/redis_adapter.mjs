// A durable node-oidc-provider adapter on Redis, the same design as the provider's own Redis
// example (written here, not copied): one key per model instance with its TTL, single-use
// models (codes, refresh tokens) as a hash with a "consumed" field, and a list per grant so a
// grant's tokens can be revoked together.
import Redis from 'ioredis';

const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

export function redisAdapter(url, prefix) {
  const client = new Redis(url, { keyPrefix: prefix });
  const grantKey = (id) => `grant:${id}`;
  const uidKey = (uid) => `uid:${uid}`;
  const userCodeKey = (code) => `userCode:${code}`;

  return class RedisAdapter {
    constructor(name) { this.name = name; }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        multi.rpush(grantKey(payload.grantId), key);
        if (expiresIn) multi.expire(grantKey(payload.grantId), expiresIn, 'GT');
      }
      if (payload.userCode) multi.set(userCodeKey(payload.userCode), id, 'EX', expiresIn);
      if (payload.uid) multi.set(uidKey(payload.uid), id, 'EX', expiresIn);
      await multi.exec();
    }

    async find(id) {
      if (consumable.has(this.name)) {
        const { payload, ...rest } = await client.hgetall(this.key(id));
        return payload ? { ...rest, ...JSON.parse(payload) } : undefined;
      }
      const data = await client.get(this.key(id));
      return data ? JSON.parse(data) : undefined;
    }

    async findByUid(uid) { return this.find(await client.get(uidKey(uid))); }

    async findByUserCode(code) { return this.find(await client.get(userCodeKey(code))); }

    async destroy(id) { await client.del(this.key(id)); }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    async revokeByGrantId(grantId) {
      const keys = await client.lrange(grantKey(grantId), 0, -1);
      const multi = client.multi();
      // lrange returns prefixed keys; del adds the prefix again, so strip it.
      keys.forEach((key) => multi.del(key.slice(prefix.length)));
      multi.del(grantKey(grantId));
      await multi.exec();
    }
  };
}
