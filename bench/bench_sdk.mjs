// Auth0's official Node SDK (auth0 v4 AuthenticationClient) doing bench_grants.c's work against
// the fake tenant: passwordGrant for a0alice, then refreshTokenGrant with the refresh token it
// returned, N times after WARMUP untimed iterations, with the confidential client
// pam-confidential. Prints "sdk_ms <wall milliseconds of the N iterations>".
// Usage (under tests/with-fake-tenant, NODE_EXTRA_CA_CERTS = the test CA, A0_FIDELITY_DIR = the
// directory where tests/fidelity installed auth0): node bench_sdk.mjs N WARMUP
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(`${process.env.A0_FIDELITY_DIR}/`);
const { AuthenticationClient } = require('auth0');

const [n, warmup] = process.argv.slice(2).map(Number);
const state = JSON.parse(readFileSync(process.env.A0_FAKE_STATE, 'utf8'));
const auth = new AuthenticationClient({
	domain: `localhost:${state.port}`,
	clientId: 'pam-confidential',
	clientSecret: 'test-client-secret-123',
});

async function once() {
	const { data } = await auth.oauth.passwordGrant({
		username: 'a0alice', password: 'Secret-a0alice-1',
		realm: 'Username-Password-Authentication', scope: 'offline_access',
	});
	if (!data.refresh_token) throw new Error('no refresh token');
	const renewed = await auth.oauth.refreshTokenGrant({ refresh_token: data.refresh_token });
	if (!renewed.data.access_token) throw new Error('no access token');
}

for (let i = 0; i < warmup; i++) await once();
const t0 = performance.now();
for (let i = 0; i < n; i++) await once();
console.log(`sdk_ms ${(performance.now() - t0).toFixed(3)}`);
