// Auth0's own Node SDK (auth0 v4 AuthenticationClient) against the fake tenant: if the SDK,
// which was written against the real Auth0, accepts the fake's answers and reads its errors the
// way it reads Auth0's, the fake is faithful where pam_auth0 depends on it. The SDK also
// validates every ID token (RS256 via the JWKS, iss, aud, exp, iat).
// Run under tests/with-fake-tenant with NODE_EXTRA_CA_CERTS set to the test CA.
import { readFileSync } from 'node:fs';
import { AuthenticationClient } from 'auth0';

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

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
