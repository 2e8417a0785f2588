// SPDX-License-Identifier: MIT
// The credentials-exchange Action of contrib/actions (pam-auth0-host.js) against the contract
// Auth0 documents for that trigger: events shaped like its event object (accessToken, client,
// request, resource_server, secrets, tenant, transaction) and a recording api that has exactly
// the documented methods (access.deny with its three codes, accessToken.setCustomClaim, cache.*,
// transaction.*) and throws on anything else. Node alone, no npm package. One "PASS: actions:"
// or "FAIL: actions:" line per case; exits 1 when one failed.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const action = require('../../contrib/actions/pam-auth0-host.js');

const TENANT = 'example-tenant';
const DOMAIN = `${TENANT}.eu.auth0.com`;
const MGMT = `https://${DOMAIN}/api/v2/`;
const CLAIM = 'https://pam-auth0/host';
const HOST_META = { pam_auth0_host: 'true', pam_auth0_hostname: 'web1.example.com' };

// ---- the documented contract ----

function deepFreeze(o) {
	if (o && typeof o === 'object' && !Object.isFrozen(o)) {
		Object.freeze(o);
		for (const v of Object.values(o))
			deepFreeze(v);
	}
	return o;
}

// An event as the credentials-exchange trigger passes it; frozen, so that an Action that writes
// to it fails (the Action is strict mode).
function makeEvent(opts = {}) {
	// A key given as undefined is left out of the event, as Auth0 leaves out what it lacks.
	const o = { metadata: HOST_META, audience: MGMT, requested: ['read:users', 'read:roles'],
		hostname: DOMAIN, secrets: {}, clientId: 'Hx7f2host0web1', tenant: TENANT, ...opts };
	const { metadata, audience, requested, issued, hostname, secrets, clientId, tenant } = o;
	return deepFreeze({
		accessToken: { customClaims: {}, ...(issued === undefined ? {} : { scope: issued }) },
		client: { client_id: clientId, name: 'host web1', ...(metadata === undefined ? {} : { metadata }) },
		request: {
			body: { grant_type: 'client_credentials', audience, client_id: clientId },
			geoip: { cityName: 'Amsterdam', continentCode: 'EU', countryCode: 'NL', countryCode3: 'NLD',
				countryName: 'Netherlands', latitude: 52.37, longitude: 4.89, timeZone: 'Europe/Amsterdam' },
			...(hostname === undefined ? {} : { hostname }),
			ip: '192.0.2.10',
			method: 'POST',
			user_agent: 'auth0-sync/1',
		},
		resource_server: { identifier: audience },
		secrets,
		tenant: { id: tenant },
		transaction: requested === undefined ? {} : { requested_scopes: requested },
	});
}

const DENY_CODES = ['invalid_scope', 'invalid_request', 'server_error'];

// The api object of the trigger, recording each call as [name, ...args]. Reading or writing
// anything the documentation does not list throws, as does a call with arguments of the wrong
// kind: an Action that relies on more than the contract fails here.
function recordingApi() {
	const calls = [];
	const record = (name, check) => (...args) => {
		check(...args);
		calls.push([name, ...args]);
	};
	const isString = (what, v) => assert.equal(typeof v, 'string', `${what} must be a string`);
	const surface = {
		access: {
			deny: record('access.deny', (code, reason) => {
				assert.ok(DENY_CODES.includes(code), `access.deny: code ${code} is not one of ${DENY_CODES}`);
				if (reason !== undefined)
					isString('access.deny reason', reason);
			}),
		},
		accessToken: {
			setCustomClaim: record('accessToken.setCustomClaim', (key) => isString('claim name', key)),
		},
		cache: {
			delete: record('cache.delete', (key) => isString('cache key', key)),
			get: (key) => {
				isString('cache key', key);
				calls.push(['cache.get', key]);
				return undefined;
			},
			set: record('cache.set', (key, value) => {
				isString('cache key', key);
				isString('cache value', value);
			}),
		},
		transaction: {
			addTargetScope: record('transaction.addTargetScope', (s) => isString('scope', s)),
			removeTargetScope: record('transaction.removeTargetScope', (s) => isString('scope', s)),
			setTargetScopes: record('transaction.setTargetScopes', (s) => assert.ok(Array.isArray(s))),
		},
	};
	const strict = (target, path) => new Proxy(target, {
		get(t, prop) {
			if (typeof prop === 'symbol')
				return Reflect.get(t, prop);
			if (!Object.hasOwn(t, prop))
				throw new Error(`api.${path}${prop} is not part of the credentials-exchange api`);
			const v = t[prop];
			return v && typeof v === 'object' ? strict(v, `${path}${prop}.`) : v;
		},
		set(t, prop) {
			throw new Error(`api.${path}${String(prop)} may not be assigned`);
		},
		has(t, prop) {
			return Reflect.has(t, prop);
		},
	});
	return { api: strict(surface, ''), calls };
}

async function run(event) {
	const { api, calls } = recordingApi();
	await action.onExecuteCredentialsExchange(event, api);
	return calls;
}

// ---- cases ----

let passed = 0, failed = 0;

async function check(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`PASS: actions: ${name}`);
	} catch (e) {
		failed++;
		console.log(`FAIL: actions: ${name}: ${e && e.stack ? e.stack : e}`);
	}
}

const claimed = (host = 'web1.example.com') => [['accessToken.setCustomClaim', CLAIM, host]];

function denied(calls, code, ...words) {
	assert.equal(calls.length, 1, `one call, not ${JSON.stringify(calls)}`);
	const [name, c, reason] = calls[0];
	assert.equal(name, 'access.deny');
	assert.equal(c, code);
	for (const w of words)
		assert.ok(reason.includes(w), `reason "${reason}" names ${w}`);
	assert.match(reason, /^[\x20-\x7e]+$/, 'the reason is one printable line');
	return reason;
}

await check('the exported handler is onExecuteCredentialsExchange, async', async () => {
	assert.equal(typeof action.onExecuteCredentialsExchange, 'function');
	assert.equal(action.onExecuteCredentialsExchange.constructor.name, 'AsyncFunction');
});

await check('host with exactly read:users read:roles: allowed, host claim added', async () => {
	assert.deepEqual(await run(makeEvent()), claimed());
});

await check('host with the scopes in the other order and repeated: allowed', async () => {
	assert.deepEqual(await run(makeEvent({ requested: ['read:roles', 'read:users', 'read:roles'] })),
		claimed());
});

await check('host with a subset (read:users): allowed', async () => {
	assert.deepEqual(await run(makeEvent({ requested: ['read:users'] })), claimed());
});

await check('host asking for read:users and write:users: denied invalid_scope', async () => {
	denied(await run(makeEvent({ requested: ['read:users', 'write:users'] })), 'invalid_scope',
		'write:users', 'web1.example.com');
});

await check('host asking for read:users plus a grant that would issue delete:users: denied', async () => {
	denied(await run(makeEvent({ requested: ['read:users'], issued: ['read:users', 'delete:users'] })),
		'invalid_scope', 'delete:users');
});

await check('host asking for no scope, whole grant read-only: allowed', async () => {
	assert.deepEqual(await run(makeEvent({ requested: [], issued: ['read:users', 'read:roles'] })),
		claimed());
});

await check('host asking for no scope, grant unknown: denied invalid_scope', async () => {
	denied(await run(makeEvent({ requested: [] })), 'invalid_scope', 'must ask for its scopes');
	denied(await run(makeEvent({ requested: undefined })), 'invalid_scope');
});

await check('host with scopes that are not a list: denied invalid_scope', async () => {
	denied(await run(makeEvent({ requested: 'read:users write:users' })), 'invalid_scope');
});

await check('host asking for another API: denied invalid_request', async () => {
	denied(await run(makeEvent({ audience: 'https://api.example.com/' })), 'invalid_request',
		'https://api.example.com/', 'Management API');
});

await check('host asking for another tenant\'s Management API: denied invalid_request', async () => {
	denied(await run(makeEvent({ audience: 'https://other-tenant.eu.auth0.com/api/v2/' })),
		'invalid_request');
	denied(await run(makeEvent({ audience: `https://${DOMAIN}.evil.example/api/v2/` })),
		'invalid_request');
	denied(await run(makeEvent({ audience: `https://${DOMAIN}/api/v2/users` })), 'invalid_request');
	denied(await run(makeEvent({ audience: `http://${DOMAIN}/api/v2/` })), 'invalid_request');
});

await check('host through a custom domain: the tenant\'s own Management API is allowed', async () => {
	assert.deepEqual(await run(makeEvent({ hostname: 'login.example.com' })), claimed());
	assert.deepEqual(await run(makeEvent({ hostname: undefined, audience: `https://${TENANT}.auth0.com/api/v2/` })),
		claimed());
	denied(await run(makeEvent({ hostname: 'login.example.com', audience: 'https://login.example.com.evil/api/v2/' })),
		'invalid_request');
});

await check('Management API named in the secret: only that audience', async () => {
	const secrets = { PAM_AUTH0_MANAGEMENT_AUDIENCE: 'https://auth.private.example/api/v2/' };
	assert.deepEqual(await run(makeEvent({ secrets, audience: 'https://auth.private.example/api/v2/' })),
		claimed());
	denied(await run(makeEvent({ secrets })), 'invalid_request');
});

await check('client not marked as a host: untouched, whatever it asks for', async () => {
	assert.deepEqual(await run(makeEvent({ metadata: { team: 'billing' }, audience: 'https://api.example.com/',
		requested: ['write:users', 'delete:users'] })), []);
	assert.deepEqual(await run(makeEvent({ metadata: { pam_auth0_host: 'false', pam_auth0_hostname: 'web1' },
		requested: ['write:users'] })), []);
});

await check('client without metadata: untouched', async () => {
	assert.deepEqual(await run(makeEvent({ metadata: undefined, requested: ['write:users'] })), []);
	assert.deepEqual(await run(makeEvent({ metadata: {}, requested: ['write:users'] })), []);
});

await check('host flag that is neither "true" nor "false": denied invalid_request', async () => {
	denied(await run(makeEvent({ metadata: { pam_auth0_host: 'yes', pam_auth0_hostname: 'web1' } })),
		'invalid_request', 'pam_auth0_host', '"yes"');
});

await check('host without a valid host name: denied invalid_request', async () => {
	denied(await run(makeEvent({ metadata: { pam_auth0_host: 'true' } })), 'invalid_request',
		'pam_auth0_hostname');
	denied(await run(makeEvent({ metadata: { pam_auth0_host: 'true', pam_auth0_hostname: 'web1 x' } })),
		'invalid_request');
	denied(await run(makeEvent({ metadata: { pam_auth0_host: 'true', pam_auth0_hostname: '-web1' } })),
		'invalid_request');
});

await check('deny reason text: the host, the client, what is allowed and what was refused', async () => {
	const reason = denied(await run(makeEvent({ requested: ['read:users', 'write:users', 'read:clients'] })),
		'invalid_scope');
	assert.equal(reason, 'pam_auth0 host web1.example.com (client Hx7f2host0web1) may only have ' +
		'read:users read:roles; refused: write:users read:clients');
	const audience = denied(await run(makeEvent({ audience: 'https://api.example.com/' })), 'invalid_request');
	assert.equal(audience, 'pam_auth0 host web1.example.com (client Hx7f2host0web1) may only ask for ' +
		'the Management API of this tenant, not https://api.example.com/');
});

await check('what a reason quotes from the request is printable and bounded', async () => {
	const reason = denied(await run(makeEvent({ requested: ['read:users', `x\n${'y'.repeat(300)}`] })),
		'invalid_scope');
	assert.ok(reason.length < 400, `reason of ${reason.length} characters`);
});

await check('the event is not modified', async () => {
	for (const opts of [{}, { requested: ['read:users', 'write:users'] }, { metadata: {} }]) {
		const e = structuredClone(makeEvent(opts)); // not frozen: a write would stay
		const before = JSON.stringify(e);
		await run(e);
		assert.equal(JSON.stringify(e), before);
	}
});

await check('the mock api refuses what the contract does not have', async () => {
	const { api, calls } = recordingApi();
	assert.throws(() => api.redirect, /not part of the credentials-exchange api/);
	assert.throws(() => api.accessToken.setScopes, /not part of/);
	assert.throws(() => api.access.deny('access_denied', 'x'), /not one of/);
	assert.throws(() => { api.access = {}; }, /may not be assigned/);
	api.cache.set('k', 'v');
	api.transaction.setTargetScopes(['read:users']);
	assert.deepEqual(calls, [['cache.set', 'k', 'v'], ['transaction.setTargetScopes', ['read:users']]]);
});

console.log(`actions: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
