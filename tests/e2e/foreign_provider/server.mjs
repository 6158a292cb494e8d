// A provider nobody here wrote: panva's oidc-provider (OpenID Certified), configured only, with
// RFC 8707 resource indicators, RFC 9068 JWT access tokens for one resource and opaque tokens
// (RFC 7662 introspection, RFC 7009 revocation) for the other. Its signing key is made at start.
// Started by tests/e2e/test_fresh_service_project.py: PORT and the resource identifiers come
// from the environment; it prints "listening <issuer>" once it accepts connections.
import Provider, { errors } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'foreign-key-1', use: 'sig', alg: 'RS256' };

const resources = {
  [process.env.JWT_RESOURCE]: { format: 'jwt', scope: 'notes:read notes:write' },
  [process.env.OPAQUE_RESOURCE]: { format: 'opaque', scope: 'files:read files:write' },
};

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: 'caller',
      client_secret: process.env.CALLER_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'notes:read notes:write files:read files:write',
    },
    {
      // the opaque-token service's own credentials, for introspection
      client_id: 'files-service',
      client_secret: process.env.SERVICE_SECRET,
      grant_types: [],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: ['openid', 'notes:read', 'notes:write', 'files:read', 'files:write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        const known = resources[indicator];
        if (!known) throw new errors.InvalidTarget();
        return {
          audience: indicator,
          scope: known.scope,
          accessTokenTTL: 300,
          accessTokenFormat: known.format,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
