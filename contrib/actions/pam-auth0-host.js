// SPDX-License-Identifier: MIT
'use strict';
/**
 * pam_auth0: host tokens governed by an Action (Auth0 trigger: credentials-exchange, the
 * Machine to Machine flow). See contrib/actions/README.md for deployment.
 *
 * A host application is a client whose client metadata has pam_auth0_host = "true" and its
 * host name in pam_auth0_hostname. For such a client the client-credentials grant succeeds
 * only when
 *   - the audience is this tenant's Management API (https://TENANT/api/v2/), and
 *   - every scope the token would carry is one auth0-sync needs: read:users, read:roles;
 * the token then carries the claim https://pam-auth0/host = the host name. Anything else is
 * refused with api.access.deny (invalid_request for the audience or the client's own metadata,
 * invalid_scope for the scopes), with a reason auth0-sync prints.
 *
 * Clients not marked as hosts (no metadata, no pam_auth0_host, or "false") pass untouched: the
 * Action never calls the api for them.
 *
 * The Management API audience is https://<event.request.hostname>/api/v2/ or
 * https://<event.tenant.id>.[<region>.]auth0.com/api/v2/ (a custom domain is not the API's
 * identifier). A tenant elsewhere (private cloud) names it in the Action secret
 * PAM_AUTH0_MANAGEMENT_AUDIENCE, which then is the only one accepted.
 */

const HOST_FLAG = 'pam_auth0_host';
const HOST_NAME = 'pam_auth0_hostname';
const HOST_CLAIM = 'https://pam-auth0/host';
const ALLOWED_SCOPES = ['read:users', 'read:roles'];
const AUDIENCE_SECRET = 'PAM_AUTH0_MANAGEMENT_AUDIENCE';
/* A DNS name: labels of letters, digits and inner hyphens, dots between, 253 at most. */
const HOST_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]*$/;
const REGION_RE = /^[a-z0-9]+$/;

/* What a reason may quote from the request: printable ASCII, bounded. */
function shown(value) {
	const text = typeof value === 'string' ? value : JSON.stringify(value);
	const safe = String(text).replace(/[^\x20-\x7e]/g, '?');
	return safe.length > 100 ? `${safe.slice(0, 100)}...` : safe;
}

function isManagementApi(event, audience) {
	const secrets = event.secrets || {};
	if (typeof secrets[AUDIENCE_SECRET] === 'string' && secrets[AUDIENCE_SECRET] !== '')
		return audience === secrets[AUDIENCE_SECRET];
	const m = /^https:\/\/([^/?#@]+)\/api\/v2\/$/.exec(audience);
	if (!m)
		return false;
	const host = m[1].toLowerCase();
	const hostname = event.request && event.request.hostname;
	if (typeof hostname === 'string' && host === hostname.toLowerCase())
		return true;
	const tenant = event.tenant && event.tenant.id;
	if (typeof tenant !== 'string' || !TENANT_ID_RE.test(tenant))
		return false;
	if (host === `${tenant}.auth0.com`)
		return true;
	const prefix = `${tenant}.`, suffix = '.auth0.com';
	return host.startsWith(prefix) && host.endsWith(suffix) &&
		REGION_RE.test(host.slice(prefix.length, host.length - suffix.length));
}

/*
 * The scopes the token would carry: those asked for (a client that asks for none gets its whole
 * grant) and those Auth0 says it will issue (event.accessToken.scope). null when that cannot be
 * told: nothing asked for and nothing said, or a list that is not an array.
 */
function scopesOf(event) {
	const requested = event.transaction && event.transaction.requested_scopes;
	const issued = event.accessToken && event.accessToken.scope;
	const given = (list) => list !== undefined && list !== null;

	if ((given(requested) && !Array.isArray(requested)) || (given(issued) && !Array.isArray(issued)))
		return null;
	if (!(Array.isArray(requested) && requested.length > 0) && !Array.isArray(issued))
		return null;
	return [...(requested || []), ...(issued || [])];
}

/**
 * @param {Event} event - Details about the client credentials grant request.
 * @param {CredentialsExchangeAPI} api - Methods that change the behavior of the grant.
 */
exports.onExecuteCredentialsExchange = async (event, api) => {
	const client = event.client || {};
	const metadata = client.metadata || {};
	const flag = metadata[HOST_FLAG];

	if (flag === undefined || flag === 'false')
		return; /* not a host: untouched */
	const who = `pam_auth0: client ${shown(client.client_id)}`;
	if (flag !== 'true') {
		api.access.deny('invalid_request',
			`${who}: client metadata ${HOST_FLAG} must be "true" or "false", not ${JSON.stringify(shown(flag))}`);
		return;
	}
	const host = metadata[HOST_NAME];
	if (typeof host !== 'string' || !HOST_NAME_RE.test(host)) {
		api.access.deny('invalid_request',
			`${who} is a host without a valid host name in client metadata ${HOST_NAME}`);
		return;
	}
	const what = `pam_auth0 host ${host} (client ${shown(client.client_id)})`;
	const audience = event.resource_server && event.resource_server.identifier;
	if (typeof audience !== 'string' || !isManagementApi(event, audience)) {
		api.access.deny('invalid_request',
			`${what} may only ask for the Management API of this tenant, not ${shown(audience)}`);
		return;
	}
	const scopes = scopesOf(event);
	if (!scopes) {
		api.access.deny('invalid_scope',
			`${what} must ask for its scopes: ${ALLOWED_SCOPES.join(' ')}`);
		return;
	}
	const extra = [...new Set(scopes.filter((s) => !ALLOWED_SCOPES.includes(s)))];
	if (extra.length > 0) {
		api.access.deny('invalid_scope',
			`${what} may only have ${ALLOWED_SCOPES.join(' ')}; refused: ` +
			extra.map(shown).join(' '));
		return;
	}
	api.accessToken.setCustomClaim(HOST_CLAIM, host);
};
