// Auth0's own Node SDK (auth0 v4 AuthenticationClient and ManagementClient) against the fake
// tenant: if the SDK, which was written against the real Auth0, accepts the fake's answers and
// reads its errors the way it reads Auth0's, the fake is faithful where pam_auth0 depends on it.
// The SDK also validates every ID token (RS256 via the JWKS, iss, aud, exp, iat).
// Run under tests/with-fake-tenant with NODE_EXTRA_CA_CERTS set to the test CA.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { AuthenticationClient, ManagementClient } from 'auth0';

const state = JSON.parse(readFileSync(process.env.A0_FAKE_STATE, 'utf8'));
const domain = `localhost:${state.port}`;
// The server-side SDK always authenticates the client: use the fake's confidential client, with
// rotation switched on through the control API so the SDK meets rotation and reuse detection.
const clientId = 'pam-confidential';
const auth = new AuthenticationClient({ domain, clientId, clientSecret: 'test-client-secret-123' });
await fetch(`https://${domain}/__control/client`, {
	method: 'POST', headers: { 'content-type': 'application/json' },
	body: JSON.stringify({ client_id: clientId, rotation: true }),
});
const realm = 'Username-Password-Authentication';
let passed = 0, failed = 0;

async function check(name, fn) {
	try {
		await fn();
		passed++;
		console.log(`PASS: fidelity: ${name}`);
	} catch (e) {
		failed++;
		console.log(`FAIL: fidelity: ${name}: ${e && e.stack ? e.stack : e}`);
	}
}

function assert(cond, what) {
	if (!cond) throw new Error(`assertion failed: ${what}`);
}

async function rejects(promise, status, error, description) {
	try {
		await promise;
	} catch (e) {
		assert(e.statusCode === status, `status ${e.statusCode} == ${status}`);
		assert(e.error === error, `error '${e.error}' == '${error}'`);
		if (description)
			assert(e.error_description === description,
				`description '${e.error_description}' == '${description}'`);
		return e;
	}
	throw new Error('expected the SDK to reject');
}

let tokens;
await check('password-realm grant, ID token validated by the SDK', async () => {
	const { data } = await auth.oauth.passwordGrant({
		username: 'a0alice', password: 'Secret-a0alice-1', realm,
		scope: 'openid profile email offline_access',
	});
	assert(data.access_token && data.id_token && data.refresh_token, 'all three tokens');
	assert(data.token_type === 'Bearer', 'token_type Bearer');
	assert(Number(data.expires_in) > 0, 'expires_in');
	tokens = data;
});

await check('wrong password is invalid_grant 403', () =>
	rejects(auth.oauth.passwordGrant({ username: 'a0alice', password: 'nope', realm }),
		403, 'invalid_grant', 'Wrong email or password.'));

await check('MFA user gets mfa_required with an mfa_token', async () => {
	const e = await rejects(auth.oauth.passwordGrant({
		username: 'a0otp', password: 'Secret-a0otp-1', realm, scope: 'openid',
	}), 403, 'mfa_required');
	const body = JSON.parse(e.body);
	assert(typeof body.mfa_token === 'string' && body.mfa_token.length > 0, 'mfa_token');
});

let rotated;
await check('refresh rotates the refresh token; the SDK validates the new ID token', async () => {
	const { data } = await auth.oauth.refreshTokenGrant({ refresh_token: tokens.refresh_token });
	assert(data.access_token && data.refresh_token, 'new tokens');
	assert(data.refresh_token !== tokens.refresh_token, 'rotated');
	rotated = data.refresh_token;
});

await check('reusing the old refresh token is refused and revokes the family', async () => {
	await rejects(auth.oauth.refreshTokenGrant({ refresh_token: tokens.refresh_token }),
		403, 'invalid_grant', 'Unknown or invalid refresh token.');
	await rejects(auth.oauth.refreshTokenGrant({ refresh_token: rotated }),
		403, 'invalid_grant', 'Unknown or invalid refresh token.');
});

await check('revoke answers 200 and the token stops working', async () => {
	const { data: fresh } = await auth.oauth.passwordGrant({
		username: 'a0bob', password: 'Secret-a0bob-1', realm, scope: 'openid offline_access',
	});
	const res = await auth.oauth.revokeRefreshToken({ token: fresh.refresh_token });
	assert(res.status === 200, `status ${res.status}`);
	await rejects(auth.oauth.refreshTokenGrant({ refresh_token: fresh.refresh_token }),
		403, 'invalid_grant');
});

// --- The Management API, through the SDK's ManagementClient (client credentials, paging,
// roles, user exports, errors and 429 retries), as auth0-sync will use it.
const control = async (method, name, body) => {
	const res = await fetch(`https://${domain}/__control/${name}`, {
		method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body || {}),
	});
	if (res.status !== 200) throw new Error(`control ${name}: ${res.status} ${await res.text()}`);
	return res.json();
};
const mgmt = new ManagementClient({ domain, clientId: 'sync-client', clientSecret: 'test-sync-secret-456' });
const upa = 'Username-Password-Authentication';

async function mgmtRejects(promise, status, errorCode) {
	try {
		await promise;
	} catch (e) {
		assert(e.statusCode === status, `status ${e.statusCode} == ${status}`);
		assert(e.errorCode === errorCode, `errorCode '${e.errorCode}' == '${errorCode}'`);
		return e;
	}
	throw new Error('expected the SDK to reject');
}

await check('ManagementClient gets a client_credentials token and pages users with totals', async () => {
	await control('POST', 'create-users', { count: 130, connection: 'Other-DB' });
	const seen = new Set();
	let total;
	for (let page = 0; ; page++) {
		const { data } = await mgmt.users.getAll({
			q: 'identities.connection:"Other-DB"', search_engine: 'v3', per_page: 50, page, include_totals: true,
		});
		total = data.total;
		data.users.forEach((u) => seen.add(u.user_id));
		if (data.users.length < 50) break;
	}
	assert(total === 130 && seen.size === 130, `total ${total}, seen ${seen.size}`);
	const log = await (await fetch(`https://${domain}/__control/log`)).json();
	const grants = log.filter((r) => r.grant_type === 'client_credentials');
	assert(grants.length === 1 && grants[0].status === 200, `one token for every page: ${grants.length}`);
});

await check('users: an incremental query sorted by updated_at, fields selected', async () => {
	const { data } = await mgmt.users.getAll({
		// The data file's users were last updated on 2024-06-0N (N = their place); logins since
		// have moved a0alice, a0bob and a0otp out of this window.
		q: `identities.connection:"${upa}" AND updated_at:[2024-06-08T00:00:00.000Z TO 2024-06-30T00:00:00.000Z]`,
		search_engine: 'v3', sort: 'updated_at:1', fields: 'user_id,updated_at,app_metadata', include_fields: true,
	});
	assert(data.length === 4 && data[0].updated_at < data[3].updated_at, JSON.stringify(data));
	assert(data[0].app_metadata.posix.username === 'a0recovery', JSON.stringify(data[0]));
});

await check('users: the 1000-result window and per_page over 100 are ManagementApiErrors', async () => {
	await mgmtRejects(mgmt.users.getAll({ search_engine: 'v3', per_page: 100, page: 10 }), 400, 'invalid_paging');
	await mgmtRejects(mgmt.users.getAll({ search_engine: 'v3', per_page: 101 }), 400, 'invalid_query_string');
});

let linuxUsers;
await check('roles: list with totals, a user\'s roles', async () => {
	const { data } = await mgmt.roles.getAll({ include_totals: true, name_filter: 'linux' });
	assert(data.total === 2 && data.roles.map((r) => r.name).join() === 'linux-admins,linux-users',
		JSON.stringify(data));
	linuxUsers = data.roles.find((r) => r.name === 'linux-users').id;
	const { data: roles } = await mgmt.users.getRoles({ id: 'auth0|6a0000000000000000000001' });
	assert(roles.length === 2, JSON.stringify(roles));
});

await check('role users: checkpoint paging with from/take until there is no next', async () => {
	const ids = [];
	let from;
	for (let i = 0; i < 10; i++) {
		const { data } = await mgmt.roles.getUsers({ id: linuxUsers, take: 2, ...(from ? { from } : {}) });
		data.users.forEach((u) => ids.push(u.user_id));
		if (!data.next) break;
		from = data.next;
	}
	assert(ids.length === 3 && new Set(ids).size === 3, JSON.stringify(ids));
});

await check('connections by name, then a users export job read back as gzipped NDJSON', async () => {
	await control('POST', 'settings', { export_pending_polls: 1 });
	const { data: conns } = await mgmt.connections.getAll({ name: upa });
	assert(conns.length === 1 && /^con_[A-Za-z0-9]{16}$/.test(conns[0].id), JSON.stringify(conns));
	const { data: job } = await mgmt.jobs.exportUsers({
		connection_id: conns[0].id, format: 'json',
		fields: [{ name: 'user_id' }, { name: 'username' }, { name: 'app_metadata' }, { name: 'blocked' }],
	});
	assert(job.type === 'users_export' && job.status === 'pending', JSON.stringify(job));
	let done;
	for (let i = 0; i < 5 && !done; i++) {
		const { data } = await mgmt.jobs.get({ id: job.id });
		if (data.status === 'completed') done = data;
	}
	assert(done && done.location, 'completed with a location');
	const res = await fetch(done.location); // a pre-signed URL: no Authorization header
	assert(res.status === 200, `download ${res.status}`);
	const text = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
	const lines = text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
	assert(lines.length === 11 && lines[0].user_id === 'auth0|6a0000000000000000000001', text.slice(0, 200));
	assert(lines.find((u) => u.username === 'a0blocked').blocked === true, 'blocked exported');
});

await check('insufficient scope is a 403 ManagementApiError', async () => {
	const limited = new ManagementClient({
		domain, clientId: 'sync-limited', clientSecret: 'test-sync-limited-secret-789',
	});
	await mgmtRejects(limited.roles.getAll(), 403, 'insufficient_scope');
});

await check('the SDK retries a 429 after the rate limit and succeeds', async () => {
	await control('POST', 'settings', { mgmt_rate_limit_burst: 1, mgmt_rate_limit_per_second: 2 });
	try {
		await mgmt.roles.getAll();
		const { data } = await mgmt.roles.getAll(); // 429 first; the SDK waits and retries
		assert(data.length === 3, JSON.stringify(data));
		const stats = await (await fetch(`https://${domain}/__control/stats`)).json();
		assert(stats.management.rate_limited >= 1, `rate limited ${stats.management.rate_limited}`);
	} finally {
		await control('POST', 'settings', { mgmt_rate_limit_burst: 1000, mgmt_rate_limit_per_second: 1000 });
	}
});

await check('ManagementClient with private_key_jwt (clientAssertionSigningKey)', async () => {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	await control('POST', 'client-key', {
		client_id: 'sync-jwt', pem: publicKey.export({ type: 'spki', format: 'pem' }),
	});
	const jwtClient = new ManagementClient({
		domain, clientId: 'sync-jwt', clientAssertionSigningKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
	});
	const { data } = await jwtClient.users.getAll({ search_engine: 'v3', q: 'blocked:true' });
	assert(data.length === 1 && data[0].username === 'a0blocked', JSON.stringify(data));
});

await check('a credentials-exchange Action denial reaches the SDK as the OAuth error', async () => {
	await control('POST', 'action', { deny: { code: 'invalid_request', reason: 'Not today.' } });
	const m2m = new AuthenticationClient({ domain, clientId: 'sync-client', clientSecret: 'test-sync-secret-456' });
	await rejects(m2m.oauth.clientCredentialsGrant({ audience: `https://${domain}/api/v2/` }),
		400, 'invalid_request', 'Not today.');
	const { data } = await m2m.oauth.clientCredentialsGrant({ audience: `https://${domain}/api/v2/` });
	assert(data.access_token && data.token_type === 'Bearer' && data.expires_in === 86400, JSON.stringify(data));
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
