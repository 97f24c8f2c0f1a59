// Compatibility check of idbolt against Logto's official Management API SDK,
// @logto/api (pinned in package.json / package-lock.json).
//
// The client is built exactly as a Logto OSS user builds it; only the base
// URL points at idbolt. Every step prints one line; a failed assertion does
// not stop the run: all mismatches are collected, listed at the end, and the
// exit status is non-zero if there was any.
//
//   IDBOLT_URL=http://127.0.0.1:3001 IDBOLT_CLIENT_ID=... IDBOLT_CLIENT_SECRET=... node compat.mjs
//
// api/logto_sdk_test.go runs this against an in-process server.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { inspect } from 'node:util';

import { createManagementApi } from '@logto/api/management';

const baseUrl = (process.env.IDBOLT_URL ?? '').replace(/\/+$/, '');
const clientId = process.env.IDBOLT_CLIENT_ID ?? '';
const clientSecret = process.env.IDBOLT_CLIENT_SECRET ?? '';
if (!baseUrl || !clientId || !clientSecret) {
  console.error('compat.mjs: set IDBOLT_URL, IDBOLT_CLIENT_ID and IDBOLT_CLIENT_SECRET');
  process.exit(2);
}

// The SDK warns (and carries on) when the token's scope is not "all"; that is
// a mismatch for us, so catch it.
const sdkWarnings = [];
const warn = console.warn;
console.warn = (...args) => {
  sdkWarnings.push(args.join(' '));
  warn(...args);
};

const { apiClient: api, clientCredentials } = createManagementApi('default', {
  clientId,
  clientSecret,
  baseUrl,
  apiIndicator: 'https://default.logto.app/api',
});
// The SDK does not export ClientCredentials from '@logto/api/management'
// (its package exports only that entry), but createManagementApi hands out an
// instance: its constructor is the SDK's own class.
const ClientCredentials = clientCredentials.constructor;

const run = randomBytes(4).toString('hex');
const ctx = {}; // ids of what the run created, for later steps and cleanup

// ---- runner ---------------------------------------------------------------

const failures = [];
let current = '';
let stepFailed = false;

class Skip extends Error {}

/** need throws Skip when a step's prerequisite was not created. */
const need = (...names) => {
  const missing = names.filter((n) => ctx[n] === undefined);
  if (missing.length) throw new Skip(`needs ${missing.join(', ')} from an earlier step`);
};

const show = (v) => inspect(v, { depth: 4, breakLength: Infinity });
const describe = (err) => {
  if (!(err instanceof assert.AssertionError)) return String(err?.stack ?? err);
  if (!err.generatedMessage) return err.message;
  if (err.operator === '==' || err.operator === 'fail') return `got ${show(err.actual)}`; // assert.ok
  return `got ${show(err.actual)}, want ${show(err.expected)}`;
};

/**
 * check runs one assertion of the current step; a failure is recorded and
 * the step carries on.
 */
const check = (label, fn) => {
  try {
    fn();
  } catch (err) {
    stepFailed = true;
    failures.push(`${current}: ${label}: ${describe(err)}`);
    console.log(`    MISMATCH ${label}: ${describe(err)}`);
  }
};

/** status checks the status of an openapi-fetch result. */
const status = (res, want) => {
  const got = res.response.status;
  check(`status ${want}`, () =>
    assert.equal(got, want, `want ${want}, got ${got} ${got >= 400 ? JSON.stringify(res.error) : ''}`.trim()),
  );
  return got === want;
};

const isStr = (v) => typeof v === 'string';
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** shape checks that obj has each key with a value passing its test. */
const shape = (what, obj, spec) => {
  check(`${what} is an object`, () => assert.ok(isObj(obj), `got ${JSON.stringify(obj)}`));
  if (!isObj(obj)) return;
  for (const [key, test] of Object.entries(spec)) {
    check(`${what}.${key}`, () => {
      assert.ok(key in obj, `missing (have: ${Object.keys(obj).join(', ')})`);
      assert.ok(test(obj[key]), `unexpected value ${JSON.stringify(obj[key])}`);
    });
  }
};

const orNull = (t) => (v) => v === null || t(v);
const eq = (want) => (v) => v === want;

async function step(name, fn) {
  current = name;
  stepFailed = false;
  const t0 = Date.now();
  try {
    await fn();
  } catch (err) {
    if (err instanceof Skip) {
      console.log(`SKIP ${name} (${err.message})`);
      failures.push(`${name}: skipped, ${err.message}`);
      return;
    }
    stepFailed = true;
    failures.push(`${name}: ${describe(err)}`);
    console.log(`    ERROR ${describe(err)}`);
  }
  console.log(`${stepFailed ? 'FAIL' : 'ok  '} ${name} (${Date.now() - t0} ms)`);
}

const userSpec = {
  id: isStr,
  username: orNull(isStr),
  primaryEmail: orNull(isStr),
  primaryPhone: orNull(isStr),
  name: orNull(isStr),
  avatar: orNull(isStr),
  customData: isObj,
  identities: isObj,
  lastSignInAt: orNull(isNum),
  createdAt: isNum,
  updatedAt: isNum,
  profile: isObj,
  applicationId: orNull(isStr),
  isSuspended: (v) => typeof v === 'boolean',
};
const resourceSpec = {
  tenantId: isStr,
  id: isStr,
  name: isStr,
  indicator: isStr,
  isDefault: (v) => typeof v === 'boolean',
  accessTokenTtl: isNum,
};
const scopeSpec = {
  tenantId: isStr,
  id: isStr,
  resourceId: isStr,
  name: isStr,
  description: orNull(isStr),
  createdAt: isNum,
};
const roleSpec = {
  tenantId: isStr,
  id: isStr,
  name: isStr,
  description: isStr,
  type: (v) => v === 'User' || v === 'MachineToMachine',
  isDefault: (v) => typeof v === 'boolean',
};
const secretSpec = {
  tenantId: isStr,
  applicationId: isStr,
  name: isStr,
  createdAt: isNum,
  expiresAt: orNull(isNum),
};

/** jwtClaims decodes (without verifying) a JWT's payload. */
const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/**
 * settled calls get until its answer passes done or 5 s have gone, and returns
 * the last answer: some effects (a delivery's log entry, an audit count) are
 * written just after the request that causes them has been answered.
 */
const settled = async (get, done) => {
  const deadline = Date.now() + 5_000;
  let res = await get();
  while (res.response.status === 200 && !done(res) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    res = await get();
  }
  return res;
};

/** totalNumber reads the Total-Number header of a paged list. */
const totalNumber = (res) => {
  const h = res.response.headers.get('total-number');
  check('total-number header', () => assert.match(h ?? '', /^\d+$/, `got ${JSON.stringify(h)}`));
  return Number(h);
};

// ---- steps ----------------------------------------------------------------

console.log(`@logto/api against ${baseUrl} (run ${run})`);

await step('token: client_credentials for the Management API (scope all)', async () => {
  const token = await clientCredentials.getAccessToken();
  check('access token', () => assert.ok(isStr(token.value) && token.value.length > 0));
  check('scope', () => assert.equal(token.scope, 'all'));
  check('expiresAt', () => assert.ok(token.expiresAt > Date.now() / 1000));
  const claims = jwtClaims(token.value);
  check('aud', () => assert.equal(claims.aud, 'https://default.logto.app/api'));
  check('sub', () => assert.equal(claims.sub, clientId));
});

await step('POST /api/users', async () => {
  const res = await api.POST('/api/users', {
    body: {
      username: `sdk_${run}`,
      primaryEmail: `sdk-${run}@example.com`,
      name: 'SDK User',
      password: `Pw-${run}-secret!`,
      customData: { plan: 'free', n: 1 },
      profile: { givenName: 'Sdk', familyName: 'User' },
    },
  });
  if (!status(res, 200)) return;
  shape('user', res.data, userSpec);
  ctx.userId = res.data.id;
  check('username', () => assert.equal(res.data.username, `sdk_${run}`));
  check('primaryEmail', () => assert.equal(res.data.primaryEmail, `sdk-${run}@example.com`));
  check('customData', () => assert.deepEqual(res.data.customData, { plan: 'free', n: 1 }));
  check('profile', () => assert.deepEqual(res.data.profile, { givenName: 'Sdk', familyName: 'User' }));
  check('isSuspended', () => assert.equal(res.data.isSuspended, false));
  check('no password hash', () => assert.ok(!('passwordEncrypted' in res.data) && !('passwordDigest' in res.data)));
});

await step('POST /api/users (second user, for paging)', async () => {
  const res = await api.POST('/api/users', { body: { username: `sdk2_${run}`, name: 'SDK User 2' } });
  if (!status(res, 200)) return;
  ctx.user2Id = res.data.id;
});

await step('GET /api/users/{userId}', async () => {
  need('userId');
  const res = await api.GET('/api/users/{userId}', { params: { path: { userId: ctx.userId } } });
  if (!status(res, 200)) return;
  shape('user', res.data, userSpec);
  check('id', () => assert.equal(res.data.id, ctx.userId));
  check('hasPassword', () => assert.equal(res.data.hasPassword, true));
});

await step('GET /api/users?page=1&page_size=1 (Total-Number, Link)', async () => {
  need('userId', 'user2Id');
  const res = await api.GET('/api/users', { params: { query: { page: 1, page_size: 1 } } });
  if (!status(res, 200)) return;
  check('array of 1', () => assert.ok(Array.isArray(res.data) && res.data.length === 1, `got ${res.data?.length}`));
  if (Array.isArray(res.data) && res.data[0]) shape('users[0]', res.data[0], userSpec);
  const total = totalNumber(res);
  check('total >= 2', () => assert.ok(total >= 2, `got ${total}`));
  const link = res.response.headers.get('link') ?? '';
  check('link rel="next"', () => assert.match(link, /<[^>]*[?&]page=2[^>]*>;\s*rel="next"/, `got ${JSON.stringify(link)}`));
  check('link rel="last"', () => assert.match(link, /rel="last"/, `got ${JSON.stringify(link)}`));
  check('link keeps page_size', () => assert.match(link, /page_size=1/, `got ${JSON.stringify(link)}`));

  const page2 = await api.GET('/api/users', { params: { query: { page: 2, page_size: 1 } } });
  if (!status(page2, 200)) return;
  check('page 2 differs from page 1', () => assert.notEqual(page2.data?.[0]?.id, res.data[0].id));
  const link2 = page2.response.headers.get('link') ?? '';
  check('page 2 link rel="prev"', () => assert.match(link2, /rel="prev"/, `got ${JSON.stringify(link2)}`));
});

await step('PATCH /api/users/{userId}', async () => {
  need('userId');
  const res = await api.PATCH('/api/users/{userId}', {
    params: { path: { userId: ctx.userId } },
    body: { name: 'SDK User Renamed', profile: { nickname: 'sdk' } },
  });
  if (!status(res, 200)) return;
  shape('user', res.data, userSpec);
  check('name', () => assert.equal(res.data.name, 'SDK User Renamed'));
  check('profile.nickname', () => assert.equal(res.data.profile?.nickname, 'sdk'));
  check('username kept', () => assert.equal(res.data.username, `sdk_${run}`));
});

await step('PATCH /api/users/{userId}/custom-data', async () => {
  need('userId');
  const res = await api.PATCH('/api/users/{userId}/custom-data', {
    params: { path: { userId: ctx.userId } },
    body: { customData: { plan: 'pro', tags: ['a', 'b'] } },
  });
  if (!status(res, 200)) return;
  // Logto merges the patch into the existing custom data and answers with it.
  check('custom data', () => assert.deepEqual(res.data, { plan: 'pro', n: 1, tags: ['a', 'b'] }));
  const got = await api.GET('/api/users/{userId}/custom-data', { params: { path: { userId: ctx.userId } } });
  if (!status(got, 200)) return;
  check('GET custom-data', () => assert.deepEqual(got.data, res.data));
});

await step('GET /api/users?search=%run%', async () => {
  need('userId', 'user2Id');
  const res = await api.GET('/api/users', { params: { query: { search: `%${run}%` } } });
  if (!status(res, 200)) return;
  const ids = (res.data ?? []).map((u) => u.id).sort();
  check('finds both users', () => assert.deepEqual(ids, [ctx.userId, ctx.user2Id].sort()));
  check('total-number', () => assert.equal(res.response.headers.get('total-number'), '2'));

  const field = await api.GET('/api/users', {
    params: { query: { 'search.username': `sdk2_${run}`, mode: 'exact' } },
  });
  if (!status(field, 200)) return;
  check('search.username exact', () => assert.deepEqual((field.data ?? []).map((u) => u.id), [ctx.user2Id]));
});

await step('POST/PATCH /api/users: phone normal form, invalid phone, PATCH {}, empty password', async () => {
  need('userId');
  // An Australian mobile unique to this run: +61 412 xxx xxx (412 is an
  // allocated mobile range, so libphonenumber takes every such number;
  // not every 4xx is).
  const digits = String(parseInt(run, 16) % 1e6).padStart(6, '0');
  const normal = `61412${digits}`;
  const res = await api.POST('/api/users', {
    body: { username: `sdk3_${run}`, primaryPhone: `+61 (0)412 ${digits.slice(0, 3)} ${digits.slice(3)}` },
  });
  if (!status(res, 200)) return;
  ctx.user3Id = res.data.id;
  check('stored in the normal form', () => assert.equal(res.data.primaryPhone, normal));
  const dup = await api.POST('/api/users', { body: { primaryPhone: `${normal.slice(0, 2)}0${normal.slice(2)}` } }); // 6104...
  if (status(dup, 422)) check('same number, other form', () => assert.equal(dup.error?.code, 'user.phone_already_in_use'));
  const bad = await api.POST('/api/users', { body: { primaryPhone: '99999' } });
  if (status(bad, 422)) check('invalid phone', () => assert.equal(bad.error?.code, 'user.invalid_phone'));
  const found = await api.GET('/api/users', {
    params: { query: { 'search.primaryPhone': `+${normal}`, 'mode.primaryPhone': 'exact' } },
  });
  if (status(found, 200)) check('exact search in another form', () => assert.deepEqual((found.data ?? []).map((u) => u.id), [ctx.user3Id]));

  const empty = await api.PATCH('/api/users/{userId}', { params: { path: { userId: ctx.userId } }, body: {} });
  if (status(empty, 422)) check('PATCH {}', () => assert.equal(empty.error?.code, 'entity.invalid_input'));
  const verify = await api.POST('/api/users/{userId}/password/verify', {
    params: { path: { userId: ctx.userId } },
    body: { password: '' },
  });
  if (status(verify, 400)) check('empty password', () => assert.equal(verify.error?.code, 'guard.invalid_input'));
  await api.DELETE('/api/users/{userId}', { params: { path: { userId: ctx.user3Id } } });
});

await step('GET /api/users mode=posix and mode=similar_to', async () => {
  need('userId', 'user2Id');
  const posix = await api.GET('/api/users', {
    params: { query: { 'search.username': `^sdk((?!2).)*_${run}$`, mode: 'posix' } },
  });
  if (status(posix, 200)) check('posix with lookahead', () => assert.deepEqual((posix.data ?? []).map((u) => u.id), [ctx.userId]));
  const similar = await api.GET('/api/users', {
    params: { query: { 'search.username': `sdk(2|3)?\\_${run}`, mode: 'similar_to', isCaseSensitive: 'true' } },
  });
  if (status(similar, 200)) {
    check('similar_to', () => assert.deepEqual((similar.data ?? []).map((u) => u.id).sort(), [ctx.userId, ctx.user2Id].sort()));
    check('total-number', () => assert.equal(similar.response.headers.get('total-number'), '2'));
  }
  const hostile = await api.GET('/api/users', {
    params: { query: { 'search.name': '^(a+)+$', mode: 'posix', page_size: 100 } },
  });
  status(hostile, 200); // nothing long enough to backtrack on here: it just matches nothing
});

await step('POST /api/resources', async () => {
  const indicator = `https://api.${run}.example.com`;
  const res = await api.POST('/api/resources', { body: { name: `SDK API ${run}`, indicator } });
  if (!status(res, 201)) return;
  shape('resource', res.data, resourceSpec);
  ctx.resourceId = res.data.id;
  ctx.indicator = indicator;
  check('indicator', () => assert.equal(res.data.indicator, indicator));
  check('isDefault', () => assert.equal(res.data.isDefault, false));
  check('accessTokenTtl default 3600', () => assert.equal(res.data.accessTokenTtl, 3600));
});

await step('POST /api/resources/{resourceId}/scopes (x2)', async () => {
  need('resourceId');
  ctx.scopeIds = [];
  for (const name of ['read:things', 'write:things']) {
    const res = await api.POST('/api/resources/{resourceId}/scopes', {
      params: { path: { resourceId: ctx.resourceId } },
      body: { name, description: `can ${name}` },
    });
    if (!status(res, 201)) continue;
    shape(`scope ${name}`, res.data, scopeSpec);
    check(`${name} resourceId`, () => assert.equal(res.data.resourceId, ctx.resourceId));
    ctx.scopeIds.push(res.data.id);
  }
  if (ctx.scopeIds.length !== 2) delete ctx.scopeIds;

  const list = await api.GET('/api/resources/{resourceId}/scopes', {
    params: { path: { resourceId: ctx.resourceId } },
  });
  if (!status(list, 200)) return;
  check('GET scopes lists both', () =>
    assert.deepEqual((list.data ?? []).map((s) => s.name).sort(), ['read:things', 'write:things']),
  );
});

await step('POST /api/roles (MachineToMachine, scopeIds)', async () => {
  need('scopeIds');
  const res = await api.POST('/api/roles', {
    body: { name: `sdk-m2m-${run}`, description: 'SDK m2m role', type: 'MachineToMachine', scopeIds: ctx.scopeIds },
  });
  if (!status(res, 200)) return;
  shape('role', res.data, roleSpec);
  ctx.m2mRoleId = res.data.id;
  check('type', () => assert.equal(res.data.type, 'MachineToMachine'));
  check('isDefault', () => assert.equal(res.data.isDefault, false));

  const scopes = await api.GET('/api/roles/{id}/scopes', { params: { path: { id: ctx.m2mRoleId } } });
  if (!status(scopes, 200)) return;
  check('role scopes', () => assert.deepEqual((scopes.data ?? []).map((s) => s.id).sort(), [...ctx.scopeIds].sort()));
  if (scopes.data?.[0]) {
    // Logto adds the scope's resource to each role scope.
    check('role scope has resource', () => assert.equal(scopes.data[0].resource?.id, ctx.resourceId));
  }
});

await step('GET /api/roles (usersCount, featuredUsers, applicationsCount, featuredApplications)', async () => {
  need('m2mRoleId');
  const res = await api.GET('/api/roles', { params: { query: { type: 'MachineToMachine', page: 1, page_size: 100 } } });
  if (!status(res, 200)) return;
  totalNumber(res);
  const role = (res.data ?? []).find((r) => r.id === ctx.m2mRoleId);
  check('lists the role', () => assert.ok(role));
  if (!role) return;
  shape('role', role, {
    ...roleSpec,
    usersCount: isNum,
    featuredUsers: Array.isArray,
    applicationsCount: isNum,
    featuredApplications: Array.isArray,
  });
  check('type filter', () => assert.ok((res.data ?? []).every((r) => r.type === 'MachineToMachine')));
});

await step('POST /api/applications (MachineToMachine)', async () => {
  const res = await api.POST('/api/applications', { body: { name: `SDK app ${run}`, type: 'MachineToMachine' } });
  if (!status(res, 200)) return;
  shape('application', res.data, {
    tenantId: isStr,
    id: isStr,
    name: isStr,
    secret: (v) => isStr(v) && v.length > 0,
    description: orNull(isStr),
    type: eq('MachineToMachine'),
    oidcClientMetadata: isObj,
    customClientMetadata: isObj,
    isThirdParty: eq(false),
    createdAt: isNum,
  });
  ctx.appId = res.data.id;
  ctx.appSecret = res.data.secret;
  check('oidcClientMetadata.redirectUris', () => assert.ok(Array.isArray(res.data.oidcClientMetadata?.redirectUris)));
});

await step('POST /api/applications/{applicationId}/roles', async () => {
  need('appId', 'm2mRoleId');
  const res = await api.POST('/api/applications/{applicationId}/roles', {
    params: { path: { applicationId: ctx.appId } },
    body: { roleIds: [ctx.m2mRoleId] },
  });
  if (!status(res, 201)) return;
  check('body', () => assert.deepEqual(res.data, { roleIds: [ctx.m2mRoleId], addedRoleIds: [ctx.m2mRoleId] }));

  const list = await api.GET('/api/applications/{applicationId}/roles', {
    params: { path: { applicationId: ctx.appId } },
  });
  if (!status(list, 200)) return;
  check('GET app roles', () => assert.deepEqual((list.data ?? []).map((r) => r.id), [ctx.m2mRoleId]));
});

await step('GET /api/applications/{id}/secrets (no value)', async () => {
  need('appId');
  const res = await api.GET('/api/applications/{id}/secrets', { params: { path: { id: ctx.appId } } });
  if (!status(res, 200)) return;
  check('array', () => assert.ok(Array.isArray(res.data)));
  for (const [i, s] of (res.data ?? []).entries()) {
    shape(`secrets[${i}]`, s, secretSpec);
    // idbolt keeps only a hash of a secret, so it never lists the value.
    check(`secrets[${i}] has no value`, () => assert.ok(!s.value, `got value ${JSON.stringify(s.value)}`));
  }
});

await step('POST /api/applications/{id}/secrets', async () => {
  need('appId');
  const res = await api.POST('/api/applications/{id}/secrets', {
    params: { path: { id: ctx.appId } },
    body: { name: 'second' },
  });
  if (!status(res, 201)) return;
  shape('secret', res.data, { ...secretSpec, value: (v) => isStr(v) && v.length > 0 });
  check('name', () => assert.equal(res.data.name, 'second'));
  check('applicationId', () => assert.equal(res.data.applicationId, ctx.appId));
  check('expiresAt null', () => assert.equal(res.data.expiresAt, null));
  ctx.appSecret2 = res.data.value;

  const list = await api.GET('/api/applications/{id}/secrets', { params: { path: { id: ctx.appId } } });
  if (!status(list, 200)) return;
  check('listed', () => assert.ok((list.data ?? []).some((s) => s.name === 'second')));
});

const appToken = async (secret, label) => {
  const cc = new ClientCredentials({
    clientId: ctx.appId,
    clientSecret: secret,
    tokenEndpoint: `${baseUrl}/oidc/token`,
    tokenParams: { resource: ctx.indicator, scope: 'read:things write:things' },
  });
  let token;
  try {
    token = await cc.getAccessToken();
  } catch (err) {
    check(`${label}: token`, () => assert.fail(String(err)));
    return;
  }
  check(`${label}: scope`, () => assert.deepEqual(token.scope?.split(' ').sort(), ['read:things', 'write:things']));
  const claims = jwtClaims(token.value);
  check(`${label}: aud`, () => assert.equal(claims.aud, ctx.indicator));
  check(`${label}: sub`, () => assert.equal(claims.sub, ctx.appId));
  check(`${label}: client_id`, () => assert.equal(claims.client_id, ctx.appId));
};

await step('ClientCredentials: custom-resource token with the second secret', async () => {
  need('appId', 'appSecret2', 'indicator');
  await appToken(ctx.appSecret2, 'second secret');
});

await step('ClientCredentials: custom-resource token with the secret from creation', async () => {
  need('appId', 'appSecret', 'indicator');
  await appToken(ctx.appSecret, 'creation secret');
});

// A tenant with idbolt's readableApplicationSecrets switch on (set by the Go
// test through the system API) lists secret values as Logto does.
const readable = process.env.IDBOLT_READABLE_TENANT ?? '';
await step('GET /api/applications/{id}/secrets (value, readableApplicationSecrets tenant)', async () => {
  if (!readable) throw new Skip('IDBOLT_READABLE_TENANT is not set');
  const { apiClient: rapi } = createManagementApi(readable, {
    clientId: process.env.IDBOLT_READABLE_CLIENT_ID ?? '',
    clientSecret: process.env.IDBOLT_READABLE_CLIENT_SECRET ?? '',
    baseUrl: `${baseUrl}/t/${readable}`,
    apiIndicator: `https://${readable}.logto.app/api`,
  });
  const app = await rapi.POST('/api/applications', { body: { name: `SDK readable ${run}`, type: 'MachineToMachine' } });
  if (!status(app, 200)) return;
  const added = await rapi.POST('/api/applications/{id}/secrets', {
    params: { path: { id: app.data.id } },
    body: { name: 'added' },
  });
  if (!status(added, 201)) return;
  const list = await rapi.GET('/api/applications/{id}/secrets', { params: { path: { id: app.data.id } } });
  if (status(list, 200)) {
    for (const [i, s] of (list.data ?? []).entries()) {
      shape(`secrets[${i}]`, s, { ...secretSpec, value: (v) => isStr(v) && v.length > 0 });
    }
    const values = Object.fromEntries((list.data ?? []).map((s) => [s.name, s.value]));
    check('Default secret value', () => assert.equal(values['Default secret'], app.data.secret));
    check('added secret value', () => assert.equal(values.added, added.data.value));
  }
  const del = await rapi.DELETE('/api/applications/{id}', { params: { path: { id: app.data.id } } });
  status(del, 204);
});

await step('POST /api/roles (User) + POST/GET /api/users/{userId}/roles', async () => {
  need('userId');
  const role = await api.POST('/api/roles', { body: { name: `sdk-user-${run}`, description: 'SDK user role', type: 'User' } });
  if (!status(role, 200)) return;
  shape('role', role.data, roleSpec);
  ctx.userRoleId = role.data.id;
  check('type', () => assert.equal(role.data.type, 'User'));

  const res = await api.POST('/api/users/{userId}/roles', {
    params: { path: { userId: ctx.userId } },
    body: { roleIds: [ctx.userRoleId] },
  });
  if (status(res, 201)) {
    check('body', () => assert.deepEqual(res.data, { roleIds: [ctx.userRoleId], addedRoleIds: [ctx.userRoleId] }));
  }

  const list = await api.GET('/api/users/{userId}/roles', {
    params: { path: { userId: ctx.userId }, query: { page: 1, page_size: 20 } },
  });
  if (!status(list, 200)) return;
  totalNumber(list);
  check('GET user roles', () => assert.deepEqual((list.data ?? []).map((r) => r.id), [ctx.userRoleId]));
  if (list.data?.[0]) shape('user role', list.data[0], roleSpec);
});

await step('GET /api/users excludeRoleId, includePasswordHash, includeSsoIdentities', async () => {
  need('userId', 'user2Id', 'userRoleId');
  const res = await api.GET('/api/users', {
    params: { query: { search: `%${run}%`, excludeRoleId: ctx.userRoleId, includePasswordHash: 'true', includeSsoIdentities: 'true' } },
  });
  if (!status(res, 200)) return;
  check('role holder left out', () => assert.deepEqual((res.data ?? []).map((u) => u.id), [ctx.user2Id]));
  check('total-number counts what is listed', () => assert.equal(res.response.headers.get('total-number'), '1'));
  const u = res.data?.[0] ?? {};
  check('ssoIdentities []', () => assert.deepEqual(u.ssoIdentities, []));
  check('no password: digest null', () => assert.ok(u.passwordDigest === null && u.passwordAlgorithm === null));
  const withHash = await api.GET('/api/users', {
    params: { query: { 'search.id': ctx.userId, mode: 'exact', includePasswordHash: 'true' } },
  });
  if (status(withHash, 200)) {
    const v = withHash.data?.[0] ?? {};
    check('passwordDigest', () => assert.match(String(v.passwordDigest), /^\$argon2id\$/));
    check('passwordAlgorithm', () => assert.equal(v.passwordAlgorithm, 'Argon2id'));
  }
});

await step('GET /api/logs', async () => {
  const res = await api.GET('/api/logs', { params: { query: { page: 1, page_size: 5 } } });
  if (!status(res, 200)) return;
  check('array', () => assert.ok(Array.isArray(res.data)));
  totalNumber(res);
  for (const [i, log] of (res.data ?? []).entries()) {
    shape(`logs[${i}]`, log, { tenantId: isStr, id: isStr, key: isStr, payload: isObj, createdAt: isNum });
    check(`logs[${i}].payload.result`, () => assert.ok(['Success', 'Error'].includes(log.payload?.result)));
  }
  check('not empty', () => assert.ok((res.data ?? []).length > 0, 'no log entries after a run of writes and tokens'));

  if (ctx.appId === undefined) return;
  // The app's two client_credentials grants above are logged, as in Logto.
  // idbolt commits audit entries in batches at least every 100 ms, so poll.
  const mine = await settled(
    () =>
      api.GET('/api/logs', {
        params: { query: { logKey: 'ExchangeTokenBy.ClientCredentials', applicationId: ctx.appId } },
      }),
    (res) => res.data?.length > 0,
  );
  if (!status(mine, 200)) return;
  check('logKey + applicationId filter', () =>
    assert.ok(
      (mine.data ?? []).length >= 1 &&
        mine.data.every((l) => l.key === 'ExchangeTokenBy.ClientCredentials' && l.payload?.applicationId === ctx.appId),
      `got ${show(mine.data?.map((l) => [l.key, l.payload?.applicationId]))}`,
    ),
  );
});

// ---- organizations ----------------------------------------------------------

const orgSpec = {
  tenantId: isStr,
  id: isStr,
  name: isStr,
  description: orNull(isStr),
  customData: isObj,
  isMfaRequired: (v) => typeof v === 'boolean',
  color: isObj,
  branding: isObj,
  customCss: orNull(isStr),
  createdAt: isNum,
};
const orgRoleSpec = {
  tenantId: isStr,
  id: isStr,
  name: isStr,
  description: orNull(isStr),
  type: (v) => v === 'User' || v === 'MachineToMachine',
};
const orgScopeSpec = { tenantId: isStr, id: isStr, name: isStr, description: orNull(isStr) };
const isRoleRefs = (v) => Array.isArray(v) && v.every((r) => isObj(r) && isStr(r.id) && isStr(r.name));
/** roleRefIds returns the ids of a list of {id, name}. */
const roleRefIds = (refs) => (refs ?? []).map((r) => r.id);

await step('POST /api/organizations', async () => {
  const res = await api.POST('/api/organizations', {
    body: { name: `SDK org ${run}`, description: 'SDK organization', customData: { tier: 'gold' } },
  });
  if (!status(res, 201)) return;
  shape('organization', res.data, orgSpec);
  ctx.orgId = res.data.id;
  check('name', () => assert.equal(res.data.name, `SDK org ${run}`));
  check('customData', () => assert.deepEqual(res.data.customData, { tier: 'gold' }));
  check('color and branding default to {}', () => assert.deepEqual([res.data.color, res.data.branding], [{}, {}]));
  check('customCss null', () => assert.equal(res.data.customCss, null));

  const got = await api.GET('/api/organizations/{id}', { params: { path: { id: ctx.orgId } } });
  if (!status(got, 200)) return;
  check('GET answers the created organization', () => assert.deepEqual(got.data, res.data));
});

await step('PATCH /api/organizations/{id}', async () => {
  need('orgId');
  const res = await api.PATCH('/api/organizations/{id}', {
    params: { path: { id: ctx.orgId } },
    body: { description: null, color: { primaryColor: '#5d34f2' }, branding: { logoUrl: 'https://cdn.example.com/logo.png' } },
  });
  if (!status(res, 200)) return;
  shape('organization', res.data, orgSpec);
  check('description null', () => assert.equal(res.data.description, null));
  check('color', () => assert.deepEqual(res.data.color, { primaryColor: '#5d34f2' }));
  check('branding', () => assert.deepEqual(res.data.branding, { logoUrl: 'https://cdn.example.com/logo.png' }));
  check('name kept', () => assert.equal(res.data.name, `SDK org ${run}`));
});

await step('POST /api/organization-scopes + POST /api/organization-roles (with scopes)', async () => {
  const scope = await api.POST('/api/organization-scopes', {
    body: { name: `sdk-read-${run}`, description: 'SDK org scope' },
  });
  if (!status(scope, 201)) return;
  shape('organization scope', scope.data, orgScopeSpec);
  ctx.orgScopeId = scope.data.id;

  const resourceScopeIds = ctx.scopeIds ? [ctx.scopeIds[0]] : [];
  const role = await api.POST('/api/organization-roles', {
    body: {
      name: `sdk-org-member-${run}`,
      description: 'SDK org member',
      organizationScopeIds: [ctx.orgScopeId],
      resourceScopeIds,
    },
  });
  if (!status(role, 201)) return;
  shape('organization role', role.data, orgRoleSpec);
  ctx.orgRoleId = role.data.id;
  ctx.orgRoleName = role.data.name;
  check('type defaults to User', () => assert.equal(role.data.type, 'User'));
  check('no scopes in the create answer', () => assert.ok(!('scopes' in role.data)));

  const bot = await api.POST('/api/organization-roles', {
    body: { name: `sdk-org-bot-${run}`, type: 'MachineToMachine', organizationScopeIds: [], resourceScopeIds: [] },
  });
  if (status(bot, 201)) {
    ctx.orgBotRoleId = bot.data.id;
    check('bot type', () => assert.equal(bot.data.type, 'MachineToMachine'));
  }

  const list = await api.GET('/api/organization-roles', { params: { query: { q: run, page: 1, page_size: 20 } } });
  if (!status(list, 200)) return;
  check('total-number', () => assert.equal(totalNumber(list), 2));
  check('by name', () => assert.deepEqual((list.data ?? []).map((r) => r.name), [`sdk-org-bot-${run}`, `sdk-org-member-${run}`]));
  const listed = (list.data ?? []).find((r) => r.id === ctx.orgRoleId);
  if (!listed) return;
  shape('listed role', listed, { ...orgRoleSpec, scopes: Array.isArray, resourceScopes: Array.isArray });
  check('scopes', () => assert.deepEqual(listed.scopes, [{ id: ctx.orgScopeId, name: `sdk-read-${run}` }]));
  if (ctx.scopeIds) {
    check('resourceScopes', () =>
      assert.deepEqual(listed.resourceScopes, [
        { id: ctx.scopeIds[0], name: 'read:things', resource: { id: ctx.resourceId, name: `SDK API ${run}` } },
      ]),
    );
  }

  const scopes = await api.GET('/api/organization-roles/{id}/scopes', { params: { path: { id: ctx.orgRoleId } } });
  if (!status(scopes, 200)) return;
  check('role scopes', () => assert.deepEqual(scopes.data, [scope.data]));
});

await step('POST /api/organizations/{id}/users', async () => {
  need('orgId', 'userId', 'user2Id');
  const res = await api.POST('/api/organizations/{id}/users', {
    params: { path: { id: ctx.orgId } },
    body: { userIds: [ctx.userId, ctx.user2Id] },
  });
  if (!status(res, 201)) return;
  check('body echoes the ids', () => assert.deepEqual(res.data, { userIds: [ctx.userId, ctx.user2Id] }));
});

await step('GET /api/users excludeOrganizationId', async () => {
  need('orgId', 'userId', 'user2Id');
  const res = await api.GET('/api/users', { params: { query: { search: `%${run}%`, excludeOrganizationId: ctx.orgId } } });
  if (!status(res, 200)) return;
  check('members left out', () => assert.deepEqual(res.data, []));
  check('total-number 0', () => assert.equal(res.response.headers.get('total-number'), '0'));
});

await step('POST /api/organizations/{id}/users/{userId}/roles (by id and by name)', async () => {
  need('orgId', 'userId', 'user2Id', 'orgRoleId');
  const byId = await api.POST('/api/organizations/{id}/users/{userId}/roles', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
    body: { organizationRoleIds: [ctx.orgRoleId] },
  });
  if (status(byId, 201)) {
    check('by id: body', () => assert.deepEqual(byId.data, { organizationRoleIds: [ctx.orgRoleId] }));
  }
  const byName = await api.POST('/api/organizations/{id}/users/{userId}/roles', {
    params: { path: { id: ctx.orgId, userId: ctx.user2Id } },
    body: { organizationRoleNames: [ctx.orgRoleName] },
  });
  if (status(byName, 201)) {
    check('by name: body', () => assert.deepEqual(byName.data, { organizationRoleIds: [ctx.orgRoleId] }));
  }
  const unknown = await api.POST('/api/organizations/{id}/users/{userId}/roles', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
    body: { organizationRoleNames: [`nope-${run}`] },
  });
  if (status(unknown, 422)) {
    check('unknown name: code', () => assert.equal(unknown.error?.code, 'organization.role_names_not_found'));
  }

  const roles = await api.GET('/api/organizations/{id}/users/{userId}/roles', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
  });
  if (!status(roles, 200)) return;
  check('GET member roles', () => assert.deepEqual(roleRefIds(roles.data), [ctx.orgRoleId]));
  if (roles.data?.[0]) shape('member role', roles.data[0], orgRoleSpec);

  const scopes = await api.GET('/api/organizations/{id}/users/{userId}/scopes', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
  });
  if (!status(scopes, 200)) return;
  check('GET member scopes', () => assert.deepEqual(roleRefIds(scopes.data), [ctx.orgScopeId]));
});

await step('GET /api/organizations/{id}/users (organizationRoles)', async () => {
  need('orgId', 'userId', 'user2Id', 'orgRoleId');
  const res = await api.GET('/api/organizations/{id}/users', {
    params: { path: { id: ctx.orgId }, query: { page: 1, page_size: 20 } },
  });
  if (!status(res, 200)) return;
  check('total-number', () => assert.equal(totalNumber(res), 2));
  check('both members', () => assert.deepEqual(roleRefIds(res.data).sort(), [ctx.userId, ctx.user2Id].sort()));
  for (const [i, m] of (res.data ?? []).entries()) {
    shape(`members[${i}]`, m, { ...userSpec, organizationRoles: isRoleRefs });
    check(`members[${i}].organizationRoles`, () =>
      assert.deepEqual(m.organizationRoles, [{ id: ctx.orgRoleId, name: ctx.orgRoleName }]),
    );
  }

  const filtered = await api.GET('/api/organizations/{id}/users', {
    params: { path: { id: ctx.orgId }, query: { q: `sdk2_${run}`, organizationRoleId: ctx.orgRoleId } },
  });
  if (!status(filtered, 200)) return;
  check('q + organizationRoleId', () => assert.deepEqual(roleRefIds(filtered.data), [ctx.user2Id]));
});

await step('GET /api/organizations?showFeatured=true', async () => {
  need('orgId', 'userId', 'user2Id');
  const res = await api.GET('/api/organizations', {
    params: { query: { q: run, showFeatured: 'true', page: 1, page_size: 20 } },
  });
  if (!status(res, 200)) return;
  check('total-number', () => assert.equal(totalNumber(res), 1));
  const org = (res.data ?? []).find((o) => o.id === ctx.orgId);
  check('lists the organization', () => assert.ok(org));
  if (!org) return;
  shape('organization', org, { ...orgSpec, usersCount: eq(2), featuredUsers: Array.isArray });
  check('featuredUsers', () =>
    assert.deepEqual((org.featuredUsers ?? []).map((u) => u.id).sort(), [ctx.userId, ctx.user2Id].sort()),
  );
  for (const [i, u] of (org.featuredUsers ?? []).entries()) {
    check(`featuredUsers[${i}] keys`, () => assert.deepEqual(Object.keys(u), ['id', 'avatar', 'name']));
  }

  const plain = await api.GET('/api/organizations', { params: { query: { q: run } } });
  if (!status(plain, 200)) return;
  check('no featured fields without showFeatured', () =>
    assert.ok((plain.data ?? []).every((o) => !('usersCount' in o) && !('featuredUsers' in o))),
  );
});

await step('GET /api/users/{userId}/organizations', async () => {
  need('orgId', 'userId', 'orgRoleId');
  const res = await api.GET('/api/users/{userId}/organizations', { params: { path: { userId: ctx.userId } } });
  if (!status(res, 200)) return;
  check('one organization', () => assert.deepEqual(roleRefIds(res.data), [ctx.orgId]));
  if (!res.data?.[0]) return;
  shape('organization', res.data[0], { ...orgSpec, organizationRoles: isRoleRefs });
  check('organizationRoles', () =>
    assert.deepEqual(res.data[0].organizationRoles, [{ id: ctx.orgRoleId, name: ctx.orgRoleName }]),
  );
});

await step('POST /api/organizations/{id}/applications + .../applications/{applicationId}/roles', async () => {
  need('orgId', 'appId', 'orgBotRoleId');
  const add = await api.POST('/api/organizations/{id}/applications', {
    params: { path: { id: ctx.orgId } },
    body: { applicationIds: [ctx.appId] },
  });
  if (!status(add, 201)) return;
  const role = await api.POST('/api/organizations/{id}/applications/{applicationId}/roles', {
    params: { path: { id: ctx.orgId, applicationId: ctx.appId } },
    body: { organizationRoleIds: [ctx.orgBotRoleId] },
  });
  if (!status(role, 201)) return;
  const userRole = await api.POST('/api/organizations/{id}/applications/{applicationId}/roles', {
    params: { path: { id: ctx.orgId, applicationId: ctx.appId } },
    body: { organizationRoleIds: [ctx.orgRoleId] },
  });
  if (status(userRole, 422)) {
    check('User role to an app: code', () => assert.equal(userRole.error?.code, 'entity.db_constraint_violated'));
  }

  const roles = await api.GET('/api/organizations/{id}/applications/{applicationId}/roles', {
    params: { path: { id: ctx.orgId, applicationId: ctx.appId } },
  });
  if (status(roles, 200)) {
    check('GET app roles', () => assert.deepEqual(roleRefIds(roles.data), [ctx.orgBotRoleId]));
  }

  const list = await api.GET('/api/organizations/{id}/applications', {
    params: { path: { id: ctx.orgId }, query: { page: 1, page_size: 20 } },
  });
  if (!status(list, 200)) return;
  check('total-number', () => assert.equal(totalNumber(list), 1));
  check('lists the app', () => assert.deepEqual(roleRefIds(list.data), [ctx.appId]));
  if (!list.data?.[0]) return;
  shape('application member', list.data[0], {
    tenantId: isStr,
    id: isStr,
    name: isStr,
    type: eq('MachineToMachine'),
    createdAt: isNum,
    organizationRoles: isRoleRefs,
  });
  check('organizationRoles', () => assert.deepEqual(roleRefIds(list.data[0].organizationRoles), [ctx.orgBotRoleId]));
});

await step('GET /api/applications/{id}/organizations', async () => {
  need('orgId', 'appId', 'orgBotRoleId');
  const res = await api.GET('/api/applications/{id}/organizations', { params: { path: { id: ctx.appId } } });
  if (!status(res, 200)) return;
  check('one organization', () => assert.deepEqual(roleRefIds(res.data), [ctx.orgId]));
  if (res.data?.[0]) {
    shape('organization', res.data[0], { ...orgSpec, organizationRoles: isRoleRefs });
    check('organizationRoles', () => assert.deepEqual(roleRefIds(res.data[0].organizationRoles), [ctx.orgBotRoleId]));
  }
  const paged = await api.GET('/api/applications/{id}/organizations', {
    params: { path: { id: ctx.appId }, query: { page: 1, page_size: 5 } },
  });
  if (!status(paged, 200)) return;
  check('total-number', () => assert.equal(totalNumber(paged), 1));
});

await step('DELETE /api/organizations/{id}/users/{userId}', async () => {
  need('orgId', 'userId', 'user2Id');
  const del = await api.DELETE('/api/organizations/{id}/users/{userId}', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
  });
  if (!status(del, 204)) return;
  const again = await api.DELETE('/api/organizations/{id}/users/{userId}', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
  });
  status(again, 404);
  const list = await api.GET('/api/organizations/{id}/users', { params: { path: { id: ctx.orgId } } });
  if (status(list, 200)) {
    check('only the second user is left', () => assert.deepEqual(roleRefIds(list.data), [ctx.user2Id]));
  }
  const roles = await api.GET('/api/organizations/{id}/users/{userId}/roles', {
    params: { path: { id: ctx.orgId, userId: ctx.userId } },
  });
  if (status(roles, 422)) {
    check('non-member roles: code', () => assert.equal(roles.error?.code, 'organization.require_membership'));
  }
  const orgs = await api.GET('/api/users/{userId}/organizations', { params: { path: { userId: ctx.userId } } });
  if (status(orgs, 200)) check('user has no organization', () => assert.deepEqual(orgs.data, []));
});

await step('DELETE /api/organizations/{id} -> 204, then GET -> 404', async () => {
  need('orgId');
  const del = await api.DELETE('/api/organizations/{id}', { params: { path: { id: ctx.orgId } } });
  if (!status(del, 204)) return;
  const get = await api.GET('/api/organizations/{id}', { params: { path: { id: ctx.orgId } } });
  if (status(get, 404)) shape('error', get.error, { code: isStr, message: isStr });
  if (ctx.user2Id !== undefined) {
    const orgs = await api.GET('/api/users/{userId}/organizations', { params: { path: { userId: ctx.user2Id } } });
    if (status(orgs, 200)) check('member left with the organization', () => assert.deepEqual(orgs.data, []));
  }
  if (ctx.appId !== undefined) {
    const orgs = await api.GET('/api/applications/{id}/organizations', { params: { path: { id: ctx.appId } } });
    if (status(orgs, 200)) check('app left with the organization', () => assert.deepEqual(orgs.data, []));
  }
});

await step('error shape on 404 (GET /api/users/{userId} of an unknown id)', async () => {
  const res = await api.GET('/api/users/{userId}', { params: { path: { userId: `nope-${run}` } } });
  if (!status(res, 404)) return;
  check('data undefined', () => assert.equal(res.data, undefined));
  shape('error', res.error, { code: (v) => isStr(v) && v.length > 0, message: (v) => isStr(v) && v.length > 0 });
  check('content-type json', () => assert.match(res.response.headers.get('content-type') ?? '', /application\/json/));
});

// ---- issue 15: fixed ids, role assignment, error codes, app types, branding ----

/** code checks the Logto error code of a failed openapi-fetch result. */
const code = (res, want) => check(`code ${want}`, () => assert.equal(res.error?.code, want));

await step('Management API: fixed ids management-api and management-api-all', async () => {
  const scopes = await api.GET('/api/resources/{resourceId}/scopes', { params: { path: { resourceId: 'management-api' } } });
  if (status(scopes, 200)) {
    check('scope id', () => assert.deepEqual((scopes.data ?? []).map((s) => [s.id, s.name]), [['management-api-all', 'all']]));
  }
  const role = await api.POST('/api/roles', {
    body: { name: `sdk-mapi-${run}`, description: 'by fixed scope id', type: 'MachineToMachine', scopeIds: ['management-api-all'] },
  });
  if (!status(role, 200)) return;
  const held = await api.GET('/api/roles/{id}/scopes', { params: { path: { id: role.data.id } } });
  if (status(held, 200)) check('role holds management-api-all', () => assert.deepEqual((held.data ?? []).map((s) => s.id), ['management-api-all']));
  const del = await api.DELETE('/api/resources/{resourceId}/scopes/{scopeId}', {
    params: { path: { resourceId: 'management-api', scopeId: 'management-api-all' } },
  });
  if (status(del, 400)) code(del, 'resource.cannot_modify_management_api');
  status(await api.DELETE('/api/roles/{id}', { params: { path: { id: role.data.id } } }), 204);
});

await step('POST /api/roles/{id}/users and .../applications: empty lists and wrong types', async () => {
  need('userRoleId', 'm2mRoleId', 'userId');
  const users = await api.POST('/api/roles/{id}/users', { params: { path: { id: ctx.userRoleId } }, body: { userIds: [] } });
  if (status(users, 400)) code(users, 'guard.invalid_input');
  const apps = await api.POST('/api/roles/{id}/applications', { params: { path: { id: ctx.m2mRoleId } }, body: { applicationIds: [] } });
  if (status(apps, 400)) code(apps, 'guard.invalid_input');
  const m2m = await api.POST('/api/roles/{id}/users', { params: { path: { id: ctx.m2mRoleId } }, body: { userIds: [ctx.userId] } });
  if (status(m2m, 422)) code(m2m, 'entity.db_constraint_violated');
});

await step('GET /api/logs/{id} of an unknown id', async () => {
  const res = await api.GET('/api/logs/{id}', { params: { path: { id: `nope${run}` } } });
  if (status(res, 404)) code(res, 'entity.not_exists_with_id');
});

await step('DELETE /api/configs/oidc/{keyType}/{keyId} of the only key', async () => {
  const keys = await api.GET('/api/configs/oidc/{keyType}', { params: { path: { keyType: 'private-keys' } } });
  if (!status(keys, 200) || keys.data?.length !== 1) return;
  const del = await api.DELETE('/api/configs/oidc/{keyType}/{keyId}', {
    params: { path: { keyType: 'private-keys', keyId: keys.data[0].id } },
  });
  if (status(del, 422)) code(del, 'oidc.key_required');
});

await step('POST /api/applications: third-party SPA and Native, device flow', async () => {
  for (const type of ['SPA', 'Native']) {
    const res = await api.POST('/api/applications', { body: { name: `SDK 3p ${type} ${run}`, type, isThirdParty: true } });
    if (!status(res, 200)) continue;
    check(`${type} isThirdParty`, () => assert.equal(res.data.isThirdParty, true));
    status(await api.DELETE('/api/applications/{id}', { params: { path: { id: res.data.id } } }), 204);
  }
  const spa = await api.POST('/api/applications', {
    body: { name: `SDK device ${run}`, type: 'SPA', customClientMetadata: { isDeviceFlow: true } },
  });
  if (status(spa, 422)) code(spa, 'application.device_flow_native_only');
  const native = await api.POST('/api/applications', {
    body: { name: `SDK device ${run}`, type: 'Native', customClientMetadata: { isDeviceFlow: true } },
  });
  if (!status(native, 200)) return;
  const off = await api.PATCH('/api/applications/{id}', {
    params: { path: { id: native.data.id } },
    body: { customClientMetadata: { isDeviceFlow: false } },
  });
  if (status(off, 422)) code(off, 'application.device_flow_not_changeable');
  status(await api.DELETE('/api/applications/{id}', { params: { path: { id: native.data.id } } }), 204);
});

await step('PATCH /api/organizations/{id}: branding URLs', async () => {
  const org = await api.POST('/api/organizations', { body: { name: `SDK branded ${run}` } });
  if (!status(org, 201)) return;
  const path = { params: { path: { id: org.data.id } } };
  const ok = await api.PATCH('/api/organizations/{id}', { ...path, body: { branding: { logoUrl: 'myapp://assets/logo.png' } } });
  if (status(ok, 200)) check('logoUrl', () => assert.equal(ok.data.branding?.logoUrl, 'myapp://assets/logo.png'));
  const js = await api.PATCH('/api/organizations/{id}', { ...path, body: { branding: { logoUrl: 'javascript:alert(1)' } } });
  if (status(js, 400)) code(js, 'guard.invalid_input');
  status(await api.DELETE('/api/organizations/{id}', path), 204);
});

await step('GET/POST/DELETE /api/configs/oidc/cookie-keys', async () => {
  const keyType = 'cookie-keys';
  const list = await api.GET('/api/configs/oidc/{keyType}', { params: { path: { keyType } } });
  if (!status(list, 200)) return;
  for (const [i, k] of (list.data ?? []).entries()) shape(`keys[${i}]`, k, { id: isStr, createdAt: isNum });
  check('one key', () => assert.equal(list.data?.length, 1));
  const rot = await api.POST('/api/configs/oidc/{keyType}/rotate', { params: { path: { keyType } }, body: {} });
  if (!status(rot, 200)) return;
  check('new key first, the old one kept', () =>
    assert.deepEqual(rot.data?.map((k) => k.id).slice(1), [list.data?.[0]?.id]),
  );
  const cur = await api.DELETE('/api/configs/oidc/{keyType}/{keyId}', {
    params: { path: { keyType, keyId: rot.data[0].id } },
  });
  if (status(cur, 422)) check('current: code', () => assert.equal(cur.error?.code, 'oidc.only_previous_key_can_be_deleted'));
  const prev = await api.DELETE('/api/configs/oidc/{keyType}/{keyId}', {
    params: { path: { keyType, keyId: rot.data[1].id } },
  });
  status(prev, 204);
});

await step('GET|PUT|PATCH|DELETE /api/configs/jwt-customizer/{tokenTypePath}, GET list, POST test; claims in the token', async () => {
  need('appId', 'appSecret', 'indicator');
  const path = { params: { path: { tokenTypePath: 'client-credentials' } } };
  const missing = await api.GET('/api/configs/jwt-customizer/{tokenTypePath}', path);
  if (status(missing, 404)) code(missing, 'entity.not_exists_with_id');
  const script = `const getCustomJwtClaims = async ({ token, context, environmentVariables }) => ({
    tenantTier: environmentVariables.TIER, appId: context.application.id, kind: token.kind, sub: 'forged' });`;
  const put = await api.PUT('/api/configs/jwt-customizer/{tokenTypePath}', {
    ...path,
    body: { script, environmentVariables: { TIER: 'gold' }, tokenSample: { clientId: 'sample' } },
  });
  if (!status(put, 201)) return;
  shape('customizer', put.data, { script: eq(script), environmentVariables: isObj, tokenSample: isObj });
  const again = await api.PUT('/api/configs/jwt-customizer/{tokenTypePath}', { ...path, body: { script, environmentVariables: { TIER: 'gold' } } });
  status(again, 200);
  const got = await api.GET('/api/configs/jwt-customizer/{tokenTypePath}', path);
  if (status(got, 200)) check('GET script', () => assert.equal(got.data.script, script));
  const list = await api.GET('/api/configs/jwt-customizer');
  if (status(list, 200)) {
    check('list', () => assert.deepEqual(list.data.map((c) => c.key), ['jwt.clientCredentials']));
  }
  const patched = await api.PATCH('/api/configs/jwt-customizer/{tokenTypePath}', { ...path, body: { script, blockIssuanceOnError: false } });
  if (status(patched, 200)) {
    check('PATCH keeps the variables', () => assert.equal(patched.data.environmentVariables?.TIER, 'gold'));
  }
  const cc = new ClientCredentials({
    clientId: ctx.appId,
    clientSecret: ctx.appSecret,
    tokenEndpoint: `${baseUrl}/oidc/token`,
    tokenParams: { resource: ctx.indicator },
  });
  try {
    const claims = jwtClaims((await cc.getAccessToken()).value);
    check('custom claims', () => assert.deepEqual([claims.tenantTier, claims.appId, claims.kind], ['gold', ctx.appId, 'ClientCredentials']));
    check('sub is not overridden', () => assert.equal(claims.sub, ctx.appId));
  } catch (err) {
    check('token with custom claims', () => assert.fail(String(err)));
  }
  const bad = await api.PUT('/api/configs/jwt-customizer/{tokenTypePath}', { ...path, body: { environmentVariables: {} } });
  if (status(bad, 400)) code(bad, 'guard.invalid_input');
  const test = await api.POST('/api/configs/jwt-customizer/test', {
    body: { tokenType: 'client-credentials', script, environmentVariables: { TIER: 'silver' }, token: { kind: 'ClientCredentials' },
      context: { application: { id: 'app-1' } } },
  });
  if (status(test, 200)) check('test claims', () => assert.deepEqual(test.data, { tenantTier: 'silver', appId: 'app-1', kind: 'ClientCredentials', sub: 'forged' }));
  const failing = await api.POST('/api/configs/jwt-customizer/test', {
    body: { tokenType: 'client-credentials', script: 'const getCustomJwtClaims = () => { throw new Error("nope"); };', token: {}, context: {} },
  });
  if (status(failing, 422)) code(failing, 'jwt_customizer.general');
  status(await api.DELETE('/api/configs/jwt-customizer/{tokenTypePath}', path), 204);
  const gone = await api.DELETE('/api/configs/jwt-customizer/{tokenTypePath}', path);
  if (status(gone, 404)) code(gone, 'entity.not_found');
});

await step('POST /api/configs/oidc/private-keys/rotate (once; again -> oidc.previous_key_in_use)', async () => {
  const keyType = 'private-keys';
  const before = await api.GET('/api/configs/oidc/{keyType}', { params: { path: { keyType } } });
  if (!status(before, 200)) return;
  const rot = await api.POST('/api/configs/oidc/{keyType}/rotate', {
    params: { path: { keyType } },
    body: { signingKeyAlgorithm: 'EC' },
  });
  if (!status(rot, 200)) return;
  check('statuses', () => assert.deepEqual(rot.data?.map((k) => k.status), ['Current', 'Previous']));
  check('algorithm', () => assert.equal(rot.data?.[0]?.signingKeyAlgorithm, 'EC'));
  check('previous is the old current', () => assert.equal(rot.data?.[1]?.id, before.data?.[0]?.id));
  // The SDK's cached token was signed by the previous key: it still works.
  const users = await api.GET('/api/users', {});
  status(users, 200);
  const again = await api.POST('/api/configs/oidc/{keyType}/rotate', { params: { path: { keyType } }, body: {} });
  if (status(again, 422)) check('again: code', () => assert.equal(again.error?.code, 'oidc.previous_key_in_use'));
});

// ---- issue 19: connectors and verification codes ----------------------------

// A local receiver stands in for the HTTP connectors' endpoint: it records
// each JSON body idbolt posts.
const received = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ path: req.url, authorization: req.headers.authorization, body: JSON.parse(body || 'null') });
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}`;

const factorySpec = { id: isStr, type: isStr, name: isObj, formItems: Array.isArray, configTemplate: isStr, readme: isStr };
const connectorSpec = { id: isStr, connectorId: isStr, type: isStr, config: isObj, metadata: isObj, syncProfile: (v) => typeof v === 'boolean', formItems: Array.isArray };

await step('GET /api/connector-factories and /api/connector-factories/{id}', async () => {
  const list = await api.GET('/api/connector-factories', {});
  if (!status(list, 200)) return;
  check('factories', () =>
    assert.deepEqual(list.data?.map((f) => `${f.id}:${f.type}`), ['http-email:Email', 'http-sms:Sms', 'smtp:Email']),
  );
  for (const [i, f] of (list.data ?? []).entries()) shape(`factories[${i}]`, f, factorySpec);
  const one = await api.GET('/api/connector-factories/{id}', { params: { path: { id: 'smtp' } } });
  if (status(one, 200)) shape('smtp', one.data, factorySpec);
  const none = await api.GET('/api/connector-factories/{id}', { params: { path: { id: 'google' } } });
  if (status(none, 404)) code(none, 'entity.not_found');
});

await step('POST /api/connectors (http-email, secret masked), GET, PATCH', async () => {
  const created = await api.POST('/api/connectors', {
    body: { connectorId: 'http-email', config: { endpoint: `${receiverUrl}/mail`, authorization: `Bearer sdk-${run}` } },
  });
  if (!status(created, 200)) return;
  shape('connector', created.data, connectorSpec);
  ctx.connectorId = created.data.id;
  check('type', () => assert.equal(created.data.type, 'Email'));
  check('authorization masked', () => assert.notEqual(created.data.config.authorization, `Bearer sdk-${run}`));
  const list = await api.GET('/api/connectors', {});
  if (status(list, 200)) check('listed', () => assert.deepEqual(list.data?.map((c) => c.id), [ctx.connectorId]));
  const params = { params: { path: { id: ctx.connectorId } } };
  const got = await api.GET('/api/connectors/{id}', params);
  if (status(got, 200)) check('no secret in GET', () => assert.ok(!JSON.stringify(got.data).includes(`sdk-${run}`)));
  const patched = await api.PATCH('/api/connectors/{id}', {
    ...params,
    body: { config: { ...got.data.config, endpoint: `${receiverUrl}/mail2` }, metadata: { target: `sdk-${run}` } },
  });
  if (status(patched, 200)) {
    check('endpoint', () => assert.equal(patched.data?.config?.endpoint, `${receiverUrl}/mail2`));
    check('target', () => assert.equal(patched.data?.target, `sdk-${run}`));
  }
});

await step('POST /api/connectors/{factoryId}/test', async () => {
  need('connectorId');
  received.length = 0;
  const got = await api.GET('/api/connectors/{id}', { params: { path: { id: ctx.connectorId } } });
  const res = await api.POST('/api/connectors/{factoryId}/test', {
    params: { path: { factoryId: 'http-email' } },
    body: { email: 'sdk@example.com', config: got.data?.config },
  });
  if (!status(res, 204)) return;
  check('one message, with the stored secret', () => {
    assert.equal(received.length, 1);
    assert.equal(received[0].authorization, `Bearer sdk-${run}`);
    assert.equal(received[0].body?.to, 'sdk@example.com');
  });
});

await step('POST /api/verification-codes and /api/verification-codes/verify', async () => {
  need('connectorId');
  received.length = 0;
  const email = `code-${run}@example.com`;
  const sent = await api.POST('/api/verification-codes', { body: { email } });
  if (!status(sent, 204)) return;
  const codeSent = received[0]?.body?.payload?.code;
  check('code sent', () => assert.match(String(codeSent), /^[0-9]{6}$/));
  const again = await api.POST('/api/verification-codes', { body: { email } });
  if (status(again, 429)) code(again, 'request.message_rate_limited');
  const wrong = await api.POST('/api/verification-codes/verify', {
    body: { email, verificationCode: codeSent === '000000' ? '111111' : '000000' },
  });
  if (status(wrong, 400)) code(wrong, 'verification_code.code_mismatch');
  status(await api.POST('/api/verification-codes/verify', { body: { email, verificationCode: codeSent } }), 204);
  const used = await api.POST('/api/verification-codes/verify', { body: { email, verificationCode: codeSent } });
  if (status(used, 400)) code(used, 'verification_code.not_found');
  const sms = await api.POST('/api/verification-codes', { body: { phone: '4915550100' } });
  if (status(sms, 501)) code(sms, 'connector.not_found');
});

await step('DELETE /api/connectors/{id} -> 204, then GET -> 404', async () => {
  need('connectorId');
  const params = { params: { path: { id: ctx.connectorId } } };
  status(await api.DELETE('/api/connectors/{id}', params), 204);
  const get = await api.GET('/api/connectors/{id}', params);
  if (status(get, 404)) code(get, 'entity.not_exists_with_id');
});
receiver.close();

// ---- issue 19: webhooks --------------------------------------------------------

/** A local receiver for the hook steps: it keeps every request it gets. */
const hookRequests = [];
const hookWaiters = [];
const hookReceiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    hookRequests.push({ headers: req.headers, body: Buffer.concat(chunks) });
    res.writeHead(204).end();
    for (const w of hookWaiters.splice(0)) w();
  });
});
await new Promise((resolve) => hookReceiver.listen(0, '127.0.0.1', resolve));
const hookReceiverUrl = `http://127.0.0.1:${hookReceiver.address().port}/hook`;

/** hookRequest waits (10 s at most) for a request whose payload passes test. */
const hookRequest = async (test) => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = hookRequests.find((r) => test(JSON.parse(r.body.toString())));
    if (found) return found;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => {
      hookWaiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
};

/** signed checks Logto's signature of a received request under key. */
const signed = (r, key) =>
  check('logto-signature-sha-256', () =>
    assert.equal(r.headers['logto-signature-sha-256'], createHmac('sha256', key).update(r.body).digest('hex')),
  );

const hookSpec = {
  tenantId: isStr,
  id: isStr,
  name: isStr,
  event: eq(null),
  events: Array.isArray,
  config: isObj,
  signingKey: (v) => isStr(v) && v.length > 0,
  enabled: eq(true),
  createdAt: isNum,
};

await step('POST /api/hooks (User.Created to a local receiver)', async () => {
  const res = await api.POST('/api/hooks', {
    body: { name: `sdk-hook-${run}`, events: ['User.Created'], config: { url: hookReceiverUrl, headers: { 'x-sdk': run } } },
  });
  if (!status(res, 201)) return;
  shape('hook', res.data, hookSpec);
  ctx.hookId = res.data.id;
  ctx.hookKey = res.data.signingKey;
});

await step('GET /api/hooks?includeExecutionStats=true, PATCH /api/hooks/{id}', async () => {
  need('hookId');
  const list = await api.GET('/api/hooks', { params: { query: { includeExecutionStats: 'true' } } });
  if (status(list, 200)) {
    const h = (list.data ?? []).find((x) => x.id === ctx.hookId);
    shape('listed hook', h, { ...hookSpec, executionStats: isObj });
  }
  const upd = await api.PATCH('/api/hooks/{id}', { params: { path: { id: ctx.hookId } }, body: { name: `sdk-hook-renamed-${run}` } });
  if (status(upd, 200)) check('renamed', () => assert.equal(upd.data.name, `sdk-hook-renamed-${run}`));
});

await step('User.Created reaches the receiver, signed; recent-logs and executionStats show it', async () => {
  need('hookId');
  const user = await api.POST('/api/users', { body: { username: `sdk_hooked_${run}` } });
  if (!status(user, 200)) return;
  ctx.hookedUserId = user.data.id;
  const got = await hookRequest((p) => p.event === 'User.Created' && p.data?.id === user.data.id);
  check('delivered', () => assert.ok(got, 'no User.Created for the new user within 10 s'));
  if (!got) return;
  signed(got, ctx.hookKey);
  check('own header', () => assert.equal(got.headers['x-sdk'], run));
  shape('payload', JSON.parse(got.body.toString()), {
    hookId: eq(ctx.hookId),
    event: eq('User.Created'),
    createdAt: isStr,
    path: eq('/api/users'),
    method: eq('POST'),
    status: eq(200),
    data: isObj,
  });
  // The deliverer logs a delivery once the receiver has answered, so the log can trail the request.
  const logs = await settled(
    () =>
      api.GET('/api/hooks/{id}/recent-logs', {
        params: { path: { id: ctx.hookId }, query: { logKey: 'TriggerHook.User.Created', page: 1, page_size: 20 } },
      }),
    (res) => totalNumber(res) >= 1,
  );
  if (status(logs, 200)) {
    check('a log entry', () => assert.ok(totalNumber(logs) >= 1 && logs.data?.[0]?.key === 'TriggerHook.User.Created', show(logs.data)));
  }
  const stats = await settled(
    () => api.GET('/api/hooks/{id}', { params: { path: { id: ctx.hookId }, query: { includeExecutionStats: 'true' } } }),
    (res) => res.data.executionStats?.successCount >= 1,
  );
  if (status(stats, 200)) {
    check('executionStats', () => assert.ok(stats.data.executionStats?.successCount >= 1, show(stats.data.executionStats)));
  }
});

await step('POST /api/hooks/{id}/test, PATCH /api/hooks/{id}/signing-key', async () => {
  need('hookId');
  const test = await api.POST('/api/hooks/{id}/test', {
    params: { path: { id: ctx.hookId } },
    body: { events: ['Role.Created'], config: { url: hookReceiverUrl } },
  });
  if (status(test, 204)) {
    const got = await hookRequest((p) => p.event === 'Role.Created' && p.hookId === ctx.hookId);
    check('sample delivered', () => assert.ok(got));
    if (got) signed(got, ctx.hookKey);
  }
  const rot = await api.PATCH('/api/hooks/{id}/signing-key', { params: { path: { id: ctx.hookId } } });
  if (status(rot, 200)) check('new key', () => assert.ok(isStr(rot.data.signingKey) && rot.data.signingKey !== ctx.hookKey));
  const missing = await api.POST('/api/hooks/{id}/test', {
    params: { path: { id: `nope${run}` } },
    body: { events: ['Role.Created'], config: { url: hookReceiverUrl } },
  });
  status(missing, 404);
});

// ---- issue 20: one-time tokens, identities, tokens, legacy secret ---------

await step('one-time tokens: create, get, list, verify once, revoke, delete', async () => {
  const email = `ott-${run}@example.com`;
  const made = await api.POST('/api/one-time-tokens', {
    body: { email, expiresIn: 120, context: { jitOrganizationIds: ['org-1'] } },
  });
  if (!status(made, 201)) return;
  shape('created', made.data, { id: isStr, email: isStr, token: (v) => isStr(v) && v.length === 32, status: isStr });
  check('expiresIn', () => assert.equal(made.data.expiresAt - made.data.createdAt, 120000));
  const params = { path: { id: made.data.id } };
  const got = await api.GET('/api/one-time-tokens/{id}', { params });
  if (status(got, 200)) check('read: active, no value', () => assert.deepEqual([got.data.status, got.data.token], ['active', undefined]));
  const list = await api.GET('/api/one-time-tokens', { params: { query: { email, page: 1, page_size: 5 } } });
  if (status(list, 200)) {
    check('list', () => assert.deepEqual(list.data.map((t) => t.id), [made.data.id]));
    check('Total-Number', () => assert.equal(list.response.headers.get('total-number'), '1'));
  }
  const wrong = await api.POST('/api/one-time-tokens/verify', { body: { token: made.data.token, email: `x${email}` } });
  if (status(wrong, 400)) code(wrong, 'one_time_token.email_mismatch');
  const ok = await api.POST('/api/one-time-tokens/verify', { body: { token: made.data.token, email } });
  if (status(ok, 200)) check('consumed', () => assert.equal(ok.data.status, 'consumed'));
  const again = await api.POST('/api/one-time-tokens/verify', { body: { token: made.data.token, email } });
  if (status(again, 400)) code(again, 'one_time_token.token_consumed');
  const back = await api.PUT('/api/one-time-tokens/{id}/status', { params, body: { status: 'active' } });
  if (status(back, 400)) code(back, 'one_time_token.cannot_reactivate_token');
  const revoked = await api.PUT('/api/one-time-tokens/{id}/status', { params, body: { status: 'revoked' } });
  if (status(revoked, 200)) check('revoked', () => assert.equal(revoked.data.status, 'revoked'));
  status(await api.DELETE('/api/one-time-tokens/{id}', { params }), 204);
  const gone = await api.GET('/api/one-time-tokens/{id}', { params });
  if (status(gone, 404)) code(gone, 'entity.not_exists_with_id');
});

await step('user identities: PUT (201, 200), GET, all-identities, search, DELETE', async () => {
  need('userId');
  const path = { userId: ctx.userId, target: 'github' };
  const made = await api.PUT('/api/users/{userId}/identities/{target}', { params: { path }, body: { userId: `gh-${run}`, details: { login: 'sdk' } } });
  if (!status(made, 201)) return;
  check('identities', () => assert.equal(made.data.github?.userId, `gh-${run}`));
  const again = await api.PUT('/api/users/{userId}/identities/{target}', { params: { path }, body: { userId: `gh-${run}` } });
  status(again, 200);
  const one = await api.GET('/api/users/{userId}/identities/{target}', { params: { path } });
  if (status(one, 200)) check('identity', () => assert.equal(one.data.identity.userId, `gh-${run}`));
  const all = await api.GET('/api/users/{userId}/all-identities', { params: { path: { userId: ctx.userId } } });
  if (status(all, 200)) check('all', () => assert.deepEqual([all.data.socialIdentities.map((i) => i.target), all.data.ssoIdentities], [['github'], []]));
  const found = await api.GET('/api/users', { params: { query: { 'search.identities.github': `gh-${run}`, mode: 'exact' } } });
  if (status(found, 200)) check('search by identity', () => assert.deepEqual(found.data.map((u) => u.id), [ctx.userId]));
  const del = await api.DELETE('/api/users/{userId}/identities/{target}', { params: { path } });
  if (status(del, 200)) check('removed', () => assert.deepEqual(del.data.identities, {}));
  const gone = await api.GET('/api/users/{userId}/identities/{target}', { params: { path } });
  if (status(gone, 404)) code(gone, 'user.identity_not_exist');
});

await step('personal access tokens: create (value once), list, rename both ways, delete both ways', async () => {
  need('userId');
  const path = { userId: ctx.userId };
  const made = await api.POST('/api/users/{userId}/personal-access-tokens', { params: { path }, body: { name: `pat-${run}` } });
  if (!status(made, 201)) return;
  check('value', () => assert.match(made.data.value, /^pat_/));
  const list = await api.GET('/api/users/{userId}/personal-access-tokens', { params: { path } });
  if (status(list, 200)) check('listed without value', () => assert.deepEqual(list.data.map((t) => [t.name, t.value]), [[`pat-${run}`, undefined]]));
  const dup = await api.POST('/api/users/{userId}/personal-access-tokens', { params: { path }, body: { name: `pat-${run}` } });
  if (status(dup, 422)) code(dup, 'user.personal_access_token_name_exists');
  status(await api.PATCH('/api/users/{userId}/personal-access-tokens/{name}', { params: { path: { ...path, name: `pat-${run}` } }, body: { name: 'b' } }), 200);
  status(await api.PATCH('/api/users/{userId}/personal-access-tokens', { params: { path }, body: { currentName: 'b', name: 'c d' } }), 200);
  status(await api.POST('/api/users/{userId}/personal-access-tokens/delete', { params: { path }, body: { name: 'c d' } }), 204);
  const gone = await api.DELETE('/api/users/{userId}/personal-access-tokens/{name}', { params: { path: { ...path, name: 'c d' } } });
  if (status(gone, 404)) code(gone, 'entity.not_found');
});

await step('POST /api/subject-tokens', async () => {
  need('userId');
  const made = await api.POST('/api/subject-tokens', { body: { userId: ctx.userId, context: { reason: 'sdk' } } });
  if (status(made, 201)) shape('subject token', made.data, { subjectToken: (v) => isStr(v) && v.startsWith('sub_'), expiresIn: (v) => v === 600 });
});

await step('sign-in experience + PATCH /api/users/{userId}/password/expiration', async () => {
  need('userId');
  const path = { userId: ctx.userId };
  const expire = (isExpired) => api.PATCH('/api/users/{userId}/password/expiration', { params: { path }, body: { isExpired } });
  const sie = await api.GET('/api/sign-in-exp');
  if (status(sie, 200)) {
    shape('sign-in experience', sie.data, { id: (v) => v === 'default', tenantId: isStr, color: isObj, signIn: isObj, passwordExpiration: isObj });
    check('policy off', () => assert.ok(!sie.data.passwordExpiration.enabled));
  }
  const refused = await expire(true);
  if (status(refused, 400)) code(refused, 'sign_in_experiences.password_expiration_not_enabled');
  const policy = { enabled: true, validPeriodDays: 90 };
  const noWay = await api.PATCH('/api/sign-in-exp', { body: { forgotPasswordMethods: [], passwordExpiration: policy } });
  if (status(noWay, 422)) code(noWay, 'sign_in_experiences.password_expiration_requires_forgot_password');
  const conn = await api.POST('/api/connectors', { body: { connectorId: 'http-email', config: { endpoint: 'https://mail.example.com/send' } } });
  if (!status(conn, 200)) return;
  const on = await api.PATCH('/api/sign-in-exp', { body: { forgotPasswordMethods: ['EmailVerificationCode'], passwordExpiration: policy } });
  if (status(on, 200)) {
    check('policy on', () => assert.deepEqual([on.data.passwordExpiration.enabled, on.data.passwordExpiration.validPeriodDays], [true, 90]));
    check('enabledAt', () => assert.ok(Number.isInteger(on.data.passwordExpiration.enabledAt)));
  }
  const connParams = { params: { path: { id: conn.data.id } } };
  const lastWay = await api.DELETE('/api/connectors/{id}', connParams);
  if (status(lastWay, 422)) code(lastWay, 'sign_in_experiences.password_expiration_requires_forgot_password');
  const marked = await expire(true);
  if (status(marked, 200)) check('user', () => assert.equal(marked.data.id, ctx.userId));
  // idbolt has no sign-in flow: password/verify answers an expired password as Logto's sign-in does.
  const verify = () => api.POST('/api/users/{userId}/password/verify', { params: { path }, body: { password: `Pw-${run}-secret!` } });
  const expired = await verify();
  if (status(expired, 422)) code(expired, 'password.expired');
  status(await expire(false), 200);
  status(await verify(), 204);
  const unknown = await api.PATCH('/api/users/{userId}/password/expiration', { params: { path: { userId: `nope${run}` } }, body: { isExpired: false } });
  status(unknown, 404);
  const off = await api.PATCH('/api/sign-in-exp', { body: { passwordExpiration: { enabled: false } } });
  if (status(off, 200)) check('policy off again', () => assert.deepEqual(off.data.passwordExpiration, { enabled: false }));
  status(await api.DELETE('/api/connectors/{id}', connParams), 204);
});

await step('GET /api/dashboard/users/total and /new', async () => {
  const total = await api.GET('/api/dashboard/users/total');
  if (status(total, 200)) check('total', () => assert.ok(total.data.totalUserCount >= 1));
  const fresh = await api.GET('/api/dashboard/users/new');
  if (status(fresh, 200)) {
    shape('today', fresh.data.today, { count: (v) => Number.isInteger(v) && v >= 1, delta: Number.isInteger });
    shape('last7Days', fresh.data.last7Days, { count: (v) => Number.isInteger(v) && v >= 1, delta: Number.isInteger });
  }
});

await step('GET /api/dashboard/users/active after a password verification', async () => {
  need('userId');
  const verified = await api.POST('/api/users/{userId}/password/verify', {
    params: { path: { userId: ctx.userId } },
    body: { password: `Pw-${run}-secret!` },
  });
  status(verified, 204);
  // Audit entries reach the writer that counts them within about 100 ms, later on a loaded machine.
  const active = await settled(() => api.GET('/api/dashboard/users/active'), (res) => res.data.dau.count >= 1);
  if (status(active, 200)) {
    const today = new Date().toISOString().slice(0, 10);
    check('dauCurve', () => {
      assert.equal(active.data.dauCurve.length, 30);
      assert.equal(active.data.dauCurve[29].date, today);
      assert.ok(active.data.dauCurve.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.date) && Number.isInteger(d.count)));
    });
    for (const k of ['dau', 'wau', 'mau']) {
      shape(k, active.data[k], { count: (v) => Number.isInteger(v) && v >= 1, delta: Number.isInteger });
    }
  }
  const day = await api.GET('/api/dashboard/users/active', { params: { query: { date: '2020-01-01' } } });
  if (status(day, 200)) check('an old day', () => assert.equal(day.data.dau.count, 0));
  const bad = await api.GET('/api/dashboard/users/active', { params: { query: { date: 'soon' } } });
  if (status(bad, 400)) code(bad, 'guard.invalid_input');
});

await step('DELETE /api/applications/{id}/legacy-secret: none to delete', async () => {
  need('appId');
  const res = await api.DELETE('/api/applications/{id}/legacy-secret', { params: { path: { id: ctx.appId } } });
  if (status(res, 400)) code(res, 'application.no_legacy_secret_found');
});

// ---- cleanup: runs for whatever was created --------------------------------

const deletions = [
  ['hookId', '/api/hooks/{id}', 'id'],
  ['hookedUserId', '/api/users/{userId}', 'userId'],
  ['orgRoleId', '/api/organization-roles/{id}', 'id'],
  ['orgBotRoleId', '/api/organization-roles/{id}', 'id'],
  ['orgScopeId', '/api/organization-scopes/{id}', 'id'],
  ['appId', '/api/applications/{id}', 'id'],
  ['m2mRoleId', '/api/roles/{id}', 'id'],
  ['userRoleId', '/api/roles/{id}', 'id'],
  ['resourceId', '/api/resources/{id}', 'id'],
  ['userId', '/api/users/{userId}', 'userId'],
  ['user2Id', '/api/users/{userId}', 'userId'],
];
for (const [key, path, param] of deletions) {
  if (ctx[key] === undefined) continue;
  await step(`DELETE ${path} (${key}) -> 204, then GET -> 404`, async () => {
    const params = { path: { [param]: ctx[key] } };
    const del = await api.DELETE(path, { params });
    status(del, 204);
    const get = await api.GET(path, { params });
    check('GET after delete: 404', () => assert.equal(get.response.status, 404));
    if (get.response.status === 404) {
      shape('error', get.error, { code: isStr, message: isStr });
    }
  });
}

hookReceiver.close();

current = 'SDK warnings';
check('no SDK warnings', () => assert.deepEqual(sdkWarnings, []));

console.warn = warn;
if (failures.length) {
  console.log(`\n${failures.length} mismatch(es) between @logto/api and ${baseUrl}:`);
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
console.log('\nall steps passed');
