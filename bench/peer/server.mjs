// The benchmark's peer: node-oidc-provider configured like Ouderportaal, so the two are compared
// on the same work. JWT access tokens (ES256, RFC 9068) and RS256 ID tokens; PKCE S256 required
// of every client; refresh tokens for every code (bound to the session, like ours, not only with
// offline_access) that rotate on every use; state in Redis through a durable adapter.
//
// Codes come from its development interactions (a login form that takes any account id) and,
// once signed in, from single sign-on: the harness signs in once and then asks for codes.
//
// Environment: PORT, ISSUER, REDIS_URL, REDIS_PREFIX, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { redisAdapter } from './redis_adapter.mjs';

const env = process.env;
const RESOURCE = `${env.ISSUER}/resource`;

function privateJwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${randomBytes(4).toString('hex')}` };
}

const provider = new Provider(env.ISSUER, {
  adapter: redisAdapter(env.REDIS_URL, env.REDIS_PREFIX),
  clients: [{
    client_id: env.CLIENT_ID,
    client_secret: env.CLIENT_SECRET,
    redirect_uris: [env.REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: {
    keys: [
      privateJwk('rsa', { modulusLength: 2048 }, 'RS256'),
      privateJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    ],
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, name: sub, preferred_username: sub, email: `${sub}@example.org`, email_verified: true }),
  }),
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api', audience: env.CLIENT_ID, accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  pkce: { required: () => true },
  // Our settings' lifetimes; a long code lifetime only so the harness can collect codes first.
  ttl: {
    AccessToken: 300, IdToken: 300, RefreshToken: 12 * 3600, AuthorizationCode: 3600,
    Session: 12 * 3600, Grant: 12 * 3600, Interaction: 1800,
  },
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Every client is first-party, as ours are: no consent screen, the grant is made at once.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    grant.addResourceScope(RESOURCE, 'api');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.listen(Number(env.PORT), '127.0.0.1', () => console.log(`peer listening on ${env.PORT}`));
