// Sésame's local OpenID Provider: panva's oidc-provider (OpenID Certified), configured from a
// JSON file that local_stack/oidc_process.py writes (issuer, port, clients, accounts, keys).
// Run: node provider.mjs CONFIG.json   It listens on 127.0.0.1 only, and is never deployed.
//
// The library's development interactions accept any password, so this file has its own login
// page: the address and the password of a demo account, checked here; a wrong one is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(settings.accounts.map((account) => [account.sub, account]));
const byEmail = new Map(settings.accounts.map((account) => [account.email.toLowerCase(), account]));

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const digest = (text) => createHash('sha256').update(String(text), 'utf8').digest();
// Compare digests so that the comparison takes the same time whatever the password's length.
const samePassword = (typed, expected) => timingSafeEqual(digest(typed), digest(expected));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(uid, email, refused) {
  const error = refused
    ? '<p role="alert" id="login-error">Adresse ou mot de passe refusé. / Address or password refused.</p>'
    : '';
  return page('Connexion / Sign in', `
<h1>Fournisseur d'identité local / Local identity provider</h1>
${error}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <p><label for="login">Adresse courriel / E-mail address</label>
  <input id="login" name="login" type="email" required value="${escape(email)}"></p>
  <p><label for="password">Mot de passe / Password</label>
  <input id="password" name="password" type="password" required></p>
  <p><button type="submit">Se connecter / Sign in</button></p>
</form>`);
}

async function formBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const claims = (account) => ({
  sub: account.sub,
  tid: account.tid,
  oid: account.oid,
  roles: account.roles,
  email: account.email,
  email_verified: true,
  name: account.name,
  preferred_username: account.email,
});

const configuration = {
  clients: settings.clients,
  jwks: settings.jwks,
  cookies: { keys: settings.cookie_keys },
  // Entra-like claims: `tid`, `oid` and the app `roles` travel in the ID token itself.
  claims: {
    openid: ['sub', 'tid', 'oid', 'roles', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => claims(account) };
  },
  // Every client must use PKCE (S256 is the only method the library accepts).
  pkce: { required: () => true },
  responseTypes: ['code'],
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: settings.id_token_ttl_seconds ?? 600,
    Interaction: 600,
    Session: 8 * 3600,
    Grant: 8 * 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Déconnexion / Sign out', `
<h1>Se déconnecter du fournisseur local ? / Sign out of the local provider?</h1>
${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Oui, me déconnecter / Yes, sign me out</button>
<button type="submit" form="op.logoutForm">Non / No</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Déconnecté / Signed out', '<h1>Vous êtes déconnecté. / You are signed out.</h1>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Erreur / Error', `<h1>Erreur / Error</h1><p id="error">${escape(out.error)}</p>
<p>${escape(out.error_description ?? '')}</p>`);
  },
};

// Our login and consent steps, ahead of the provider's own routes.
function addInteractions(provider) {
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    ctx.set('Cache-Control', 'no-store');
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      // An expired or unknown step (or no cookie): say so, and let the person start again.
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Erreur / Error', `<h1>Étape expirée ou inconnue / Expired or unknown step</h1>
<p>Recommencez la connexion depuis Sésame. / Start signing in again from Sésame.</p>`);
      return undefined;
    }
    const { uid, prompt, params, session } = details;
    if (prompt.name === 'login' && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(uid, params.login_hint ?? '', false);
      return undefined;
    }
    if (prompt.name === 'login' && ctx.method === 'POST' && match[2]) {
      const form = await formBody(ctx.req);
      const account = byEmail.get((form.get('login') ?? '').trim().toLowerCase());
      const typed = form.get('password') ?? '';
      if (!account || !samePassword(typed, account.password)) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(uid, form.get('login') ?? '', true);
        return undefined;
      }
      const result = { login: { accountId: account.sub, amr: ['pwd'] } };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, {
        mergeWithLastSubmission: false,
      }));
      return undefined;
    }
    if (prompt.name === 'consent') {
      // Sésame is the organisation's own application: consent is given by the organisation
      // (an administrator's consent in Entra ID), so nobody is asked here.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      const result = { consent: { grantId: await grant.save() } };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, {
        mergeWithLastSubmission: true,
      }));
      return undefined;
    }
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Erreur / Error', '<h1>Étape inconnue / Unknown step</h1>');
    return undefined;
  });
}

// Listen first, then build the provider: with port 0 the issuer is known only once bound.
const server = createServer();
server.listen(settings.port, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(settings.issuer ?? `http://127.0.0.1:${port}`, configuration);
  addInteractions(provider);
  server.on('request', provider.callback());
  // The starter reads this line to learn the port when it asked for any free one.
  console.log(`listening ${port}`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // kept-alive connections would hold the close back
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
