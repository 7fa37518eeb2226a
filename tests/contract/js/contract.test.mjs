// Contract tests: the real @microsoft/microsoft-graph-client 3.0.7 against a running skuld.
//
// The client is wired exactly as graph-api.md §12.2 says: Client.initWithMiddleware with the https
// base URL (host only), defaultVersion v1.0, customHosts and a static authProvider; the self-signed
// certificate is trusted through NODE_EXTRA_CA_CERTS. Tokens come from skuld's token endpoint.
//
// Run by scripts/contract (`node --test contract.test.mjs`), which starts the server and exports
// SKULD_HTTPS_URL, SKULD_TENANT_ID, SKULD_DOMAIN, SKULD_CLIENT_ID/SECRET, SKULD_RO_CLIENT_ID/SECRET,
// SKULD_ADMIN_UPN/PASSWORD and NODE_EXTRA_CA_CERTS.

import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import graph from "@microsoft/microsoft-graph-client";

const { Client, PageIterator, BatchRequestContent, BatchResponseContent, ResponseType, GraphError } = graph;

function env(name) {
	const value = process.env[name];
	if (!value) throw new Error(`${name} is not set: run the suites through scripts/contract`);
	return value;
}

const BASE = env("SKULD_HTTPS_URL").replace(/\/+$/, "");
const HOST = new URL(BASE).hostname;
const TENANT = env("SKULD_TENANT_ID");
const DOMAIN = process.env.SKULD_DOMAIN || "contoso.test";
const ADMIN_UPN = env("SKULD_ADMIN_UPN");
const PASSWORD = "xWwvJ]6NMw+bWH-d";
const RUN = randomUUID().slice(0, 6); // distinguishes this run's objects from the Python suite's
const DIRECTORY_OBJECTS = "https://graph.microsoft.com/v1.0/directoryObjects/";

// Well-known products and plans (licensing-semantics.md §4.2; rules in data/catalog/rules.txt).
const E1 = "18181a46-0d4e-45cd-891e-60aabd171b4e"; // STANDARDPACK: SHAREPOINTSTANDARD
const E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"; // ENTERPRISEPACK: SHAREPOINTENTERPRISE
const SHAREPOINTSTANDARD = "c7699d2e-19aa-44de-8edf-1736da088ca1";
const SHAREPOINTENTERPRISE = "5dbe027f-2339-4123-9542-606e4d348a72";
const MCOMEETADV_PLAN = "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40";
const MCOSTANDARD_PLAN = "0feaeb32-d00e-4d66-bd5a-43b5b83db82c";
const EXCHANGE_PLANS = ["9aaf7827-d63c-4b61-89c3-182f06f82e5c", "efb87545-963c-4e0d-99df-69c6916d9eb0"];

// ------------------------------------------------------------------------------------------------
// Wiring (graph-api.md §12.2)

function makeClient(token) {
	return Client.initWithMiddleware({
		baseUrl: BASE,
		defaultVersion: "v1.0",
		customHosts: new Set([HOST]),
		authProvider: { getAccessToken: async () => token },
	});
}

async function fetchToken(form) {
	const url = `${BASE}/${TENANT}/oauth2/v2.0/token`;
	const res = await fetch(url, { method: "POST", body: new URLSearchParams(form) });
	const text = await res.text();
	assert.equal(res.status, 200, `POST ${url} (${form.grant_type}) -> ${res.status} ${text}`);
	const body = JSON.parse(text);
	assert.equal(String(body.token_type).toLowerCase(), "bearer", text);
	assert.ok(body.access_token, text);
	return body.access_token;
}

const tokens = {};
let app; // client-credentials token of the read-write app
let admin; // delegated token of the demo Global Administrator
let ro; // client-credentials token of the app holding only User.Read.All
let cat; // SKU and plan ids picked from /subscribedSkus

before(async () => {
	const scope = "https://graph.microsoft.com/.default";
	tokens.app = await fetchToken({
		grant_type: "client_credentials",
		client_id: env("SKULD_CLIENT_ID"),
		client_secret: env("SKULD_CLIENT_SECRET"),
		scope,
	});
	tokens.ro = await fetchToken({
		grant_type: "client_credentials",
		client_id: env("SKULD_RO_CLIENT_ID"),
		client_secret: env("SKULD_RO_CLIENT_SECRET"),
		scope,
	});
	tokens.admin = await fetchToken({
		grant_type: "password",
		client_id: "contract-tests-js",
		username: ADMIN_UPN,
		password: env("SKULD_ADMIN_PASSWORD"),
		scope: `${scope} openid profile`,
	});
	app = makeClient(tokens.app);
	admin = makeClient(tokens.admin);
	ro = makeClient(tokens.ro);
	cat = await pickSkus();
});

// ------------------------------------------------------------------------------------------------
// Helpers

/** The promise must reject with a GraphError of this status, code and (exact or /regex/) message. */
async function expectError(promise, status, code, message, what) {
	let result;
	try {
		result = await promise;
	} catch (e) {
		const got = `${e.statusCode} ${e.code} ${JSON.stringify(e.message)}`;
		assert.ok(e instanceof GraphError, `${what}: not a GraphError: ${e}`);
		assert.equal(e.statusCode, status, `${what}: got ${got}, spec wants ${status} ${code}`);
		assert.equal(e.code, code, `${what}: got ${got}, spec wants code ${code}`);
		if (message instanceof RegExp) assert.match(e.message, message, `${what}: got ${got}`);
		else if (message !== undefined) assert.equal(e.message, message, `${what}: got ${got}`);
		// graph-api.md §8: innerError carries request-id and date
		assert.ok(e.requestId && e.date, `${what}: innerError incomplete: ${e.body}`);
		return e;
	}
	assert.fail(`${what}: expected ${status} ${code}, the call succeeded with ${JSON.stringify(result)}`);
}

async function eventually(check, what, timeoutMs = 30000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await check();
		if (v) return v;
		if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 250));
	}
}

function userBody(prefix, { location = "US", upn, displayName, userType } = {}) {
	const nick = `${prefix}${RUN}${randomUUID().slice(0, 6)}`;
	const body = {
		accountEnabled: true,
		displayName: displayName ?? nick,
		mailNickname: nick,
		userPrincipalName: upn ?? `${nick}@${DOMAIN}`,
		passwordProfile: { password: PASSWORD, forceChangePasswordNextSignIn: true },
	};
	if (location) body.usageLocation = location;
	if (userType) body.userType = userType;
	return body;
}

async function createUser(client, prefix = "js", opts = {}) {
	const user = await client.api("/users").post(userBody(prefix, opts));
	assert.ok(user && user.id, "POST /users returned no user");
	return user;
}

const enc = (key) => encodeURIComponent(key);

async function getUser(client, key, ...select) {
	const req = client.api(`/users/${enc(key)}`);
	if (select.length) req.select(select);
	return req.get();
}

function licenseBody(add = [], remove = []) {
	return {
		addLicenses: add.map(([skuId, disabledPlans = []]) => ({ skuId, disabledPlans })),
		removeLicenses: remove,
	};
}

const assign = (client, key, add = [], remove = []) =>
	client.api(`/users/${enc(key)}/assignLicense`).post(licenseBody(add, remove));

const skuIds = (user) => new Set((user.assignedLicenses ?? []).map((a) => a.skuId));

/** Every item through the client's PageIterator; returns { items, pages }. */
async function allItems(client, firstPage, options) {
	const items = [];
	const links = new Set();
	const iterator = new PageIterator(
		client,
		firstPage,
		(item) => {
			items.push(item);
			links.add(iterator.nextLink ?? "last");
			return true;
		},
		options,
	);
	await iterator.iterate();
	return { items, pages: links.size };
}

async function listUsers(client, { filter, select, top, count, eventual } = {}) {
	const req = client.api("/users");
	if (filter) req.filter(filter);
	if (select) req.select(select);
	if (top) req.top(top);
	if (count) req.count(true);
	if (eventual) req.header("ConsistencyLevel", "eventual");
	const first = await req.get();
	const { items, pages } = await allItems(client, first);
	return { items, first, pages };
}

async function subscribedSkus(client) {
	const res = await client.api("/subscribedSkus").get();
	assert.ok(res.value?.length, "GET /subscribedSkus returned no products");
	return res.value;
}

const free = (s) => (s.prepaidUnits?.enabled ?? 0) - (s.consumedUnits ?? 0);

async function consumed(client, skuId) {
	return (await subscribedSkus(client)).find((s) => s.skuId === skuId).consumedUnits;
}

async function pickSkus() {
	const skus = await subscribedSkus(app);
	const byId = new Map(skus.map((s) => [s.skuId, s]));
	const userSkus = skus.filter((s) => s.appliesTo === "User" && s.capabilityStatus === "Enabled");
	const roomy = userSkus.filter((s) => (s.servicePlans ?? []).length >= 2 && s.skuId !== E1).sort((a, b) => free(b) - free(a));
	assert.ok(roomy.length && free(roomy[0]) >= 10, "no product with 10 free seats in the demo tenant");
	const direct = byId.has(E3) && free(byId.get(E3)) >= 10 ? byId.get(E3) : roomy[0];
	const group = roomy.find((s) => s.skuId !== direct.skuId && free(s) >= 8);
	assert.ok(group, "need a second product with 8 free seats for the group tests");
	// a product without free seats (the demo keeps Office 365 E5 full); the biggest such one
	const full = userSkus.filter((s) => (s.prepaidUnits?.enabled ?? 0) > 0 && free(s) <= 0).sort((a, b) => b.prepaidUnits.enabled - a.prepaidUnits.enabled)[0];
	const audio = userSkus.find((s) => s.skuPartNumber === "MCOMEETADV");
	// a plan that no conflict/dependency rule mentions, to disable (SWAY when there)
	const ruled = new Set([MCOSTANDARD_PLAN, MCOMEETADV_PLAN, SHAREPOINTSTANDARD, SHAREPOINTENTERPRISE, ...EXCHANGE_PLANS]);
	const candidates = direct.servicePlans.filter((p) => !ruled.has(p.servicePlanId) && p.appliesTo === "User");
	const plan = candidates.find((p) => p.servicePlanName === "SWAY") ?? candidates[0];
	return {
		direct: direct.skuId,
		directPart: direct.skuPartNumber,
		directPlan: plan.servicePlanId,
		directPlans: new Set(direct.servicePlans.map((p) => p.servicePlanId)),
		group: group.skuId,
		full: full?.skuId,
		audio: audio?.skuId,
		audioFree: audio ? free(audio) : 0,
		e1Free: byId.has(E1) ? free(byId.get(E1)) : 0,
		e3Free: byId.has(E3) ? free(byId.get(E3)) : 0,
	};
}

const sorted = (xs) => [...xs].sort();

// ------------------------------------------------------------------------------------------------
// Tokens and the signed-in user

test("token endpoint issues app and delegated tokens", async () => {
	for (const name of ["app", "ro", "admin"]) assert.equal(tokens[name].split(".").length, 3, `${name} token is not a JWT`);
	const me = await admin.api("/me").get();
	assert.equal(me.userPrincipalName.toLowerCase(), ADMIN_UPN.toLowerCase());
});

// ------------------------------------------------------------------------------------------------
// Users

test("create user returns 201 with default properties", async () => {
	const body = userBody("jscreate");
	const clientRequestId = randomUUID();
	const raw = await app.api("/users").header("client-request-id", clientRequestId).responseType(ResponseType.RAW).post(body);
	assert.equal(raw.status, 201, `POST /users -> ${raw.status}, spec wants 201`);
	assert.equal(raw.headers.get("client-request-id"), clientRequestId, "client-request-id is echoed");
	assert.match(raw.headers.get("request-id") ?? "", /^[0-9a-f-]{36}$/);
	const created = await raw.json();
	assert.match(created["@odata.context"], /\$metadata#users\/\$entity$/);
	assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
	assert.equal(created.userPrincipalName, body.userPrincipalName);
	assert.equal(created.displayName, body.displayName);
	for (const prop of ["businessPhones", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname"]) {
		assert.ok(prop in created, `default property ${prop} missing from the 201 body`);
	}
	assert.ok(!("usageLocation" in created) && !("assignedLicenses" in created), JSON.stringify(created));
	const got = await getUser(app, created.id, "id", "usageLocation", "accountEnabled");
	assert.equal(got.usageLocation, "US");
	assert.equal(got.accountEnabled, true);
});

test("get user by id and by userPrincipalName", async () => {
	const user = await createUser(app, "jsget");
	const byId = await getUser(app, user.id);
	const byUpn = await getUser(app, user.userPrincipalName);
	const byUpper = await getUser(app, user.userPrincipalName.toUpperCase());
	assert.equal(byId.id, user.id);
	assert.equal(byUpn.id, user.id);
	assert.equal(byUpper.id, user.id);
});

test("get user by a guest-style UPN needing percent-encoding", async () => {
	const upn = `x_y${RUN}.test#EXT#@${DOMAIN}`;
	const user = await createUser(app, "jsguest", { upn });
	assert.equal(user.userPrincipalName, upn);
	const got = await getUser(app, upn, "id", "userPrincipalName"); // /users/x_y….test%23EXT%23%40contoso.test
	assert.equal(got.id, user.id);
	assert.equal(got.userPrincipalName, upn);
	await app.api(`/users/${enc(upn)}`).patch({ department: "Guests" });
	assert.equal((await getUser(app, user.id, "department")).department, "Guests");
});

test("update user usageLocation with PATCH", async () => {
	const user = await createUser(app, "jspatch");
	const raw = await app.api(`/users/${user.id}`).responseType(ResponseType.RAW).patch({ usageLocation: "GB" });
	assert.equal(raw.status, 204);
	const got = await getUser(app, user.id, "id", "usageLocation", "displayName");
	assert.equal(got.usageLocation, "GB");
	assert.equal(got.displayName, user.displayName);
});

test("list users with PageIterator and $top=5 sees every user once", async () => {
	const prefix = `jspage${RUN}`;
	const created = [];
	for (let i = 0; i < 12; i++) created.push(await createUser(app, "x", { displayName: `${prefix} ${String(i).padStart(2, "0")}` }));
	const { items, first, pages } = await listUsers(app, { filter: `startswith(displayName,'${prefix}')`, top: 5 });
	assert.equal(first.value.length, 5);
	assert.match(first["@odata.nextLink"], /^https:\/\//);
	assert.equal(pages, 3, `12 users with $top=5 came in ${pages} pages`);
	assert.deepEqual(sorted(items.map((u) => u.id)), sorted(created.map((u) => u.id)));
	const everyone = await listUsers(app, { top: 5 });
	const ids = everyone.items.map((u) => u.id);
	assert.equal(ids.length, new Set(ids).size, "a user appeared on two pages");
	for (const u of created) assert.ok(ids.includes(u.id));
	assert.ok(everyone.pages >= 3);
	await expectError(
		app.api("/users").top(1000).get(),
		400,
		"Request_UnsupportedQuery",
		"Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
		"GET /users?$top=1000",
	);
});

test("get a missing user is 404 Request_ResourceNotFound", async () => {
	const key = randomUUID();
	await expectError(
		app.api(`/users/${key}`).get(),
		404,
		"Request_ResourceNotFound",
		`Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
		`GET /users/${key}`,
	);
});

// ------------------------------------------------------------------------------------------------
// Direct license assignment

test("assignLicense without disabledPlans", async () => {
	const sku = cat.direct;
	const user = await createUser(app, "jslic");
	const before = await consumed(app, sku);
	const updated = await assign(app, user.id, [[sku]]);
	assert.equal(updated.id, user.id);
	assert.ok(skuIds(updated).has(sku), JSON.stringify(updated.assignedLicenses));
	assert.equal(await consumed(app, sku), before + 1, "consumedUnits must grow by one");
	const got = await getUser(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates");
	assert.deepEqual(got.assignedLicenses.find((a) => a.skuId === sku).disabledPlans, []);
	const state = got.licenseAssignmentStates.find((s) => s.skuId === sku);
	assert.equal(state.assignedByGroup, null);
	assert.equal(state.state, "Active");
	assert.equal(state.error, "None");
	const details = await app.api(`/users/${user.id}/licenseDetails`).get();
	const detail = details.value.find((d) => d.skuId === sku);
	assert.equal(detail.skuPartNumber, cat.directPart);
	assert.deepEqual(new Set(detail.servicePlans.map((p) => p.servicePlanId)), cat.directPlans);
});

test("assignLicense with disabledPlans, then remove the license", async () => {
	const sku = cat.direct;
	const plan = cat.directPlan;
	const user = await createUser(app, "jsdis");
	const before = await consumed(app, sku);
	await assign(app, user.id, [[sku, [plan]]]);
	let got = await getUser(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates");
	assert.deepEqual(got.assignedLicenses.find((a) => a.skuId === sku).disabledPlans, [plan]);
	assert.deepEqual(got.licenseAssignmentStates.find((s) => s.skuId === sku).disabledPlans, [plan]);
	const details = await app.api(`/users/${user.id}/licenseDetails`).get();
	const statuses = Object.fromEntries(details.value.find((d) => d.skuId === sku).servicePlans.map((p) => [p.servicePlanId, p.provisioningStatus]));
	assert.equal(statuses[plan], "Disabled");
	assert.equal(await consumed(app, sku), before + 1);

	const removed = await assign(app, user.id, [], [sku]);
	assert.ok(!skuIds(removed).has(sku));
	got = await getUser(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates");
	assert.deepEqual(got.assignedLicenses, []);
	assert.deepEqual(got.licenseAssignmentStates ?? [], []);
	assert.deepEqual((await app.api(`/users/${user.id}/licenseDetails`).get()).value, []);
	assert.equal(await consumed(app, sku), before, "removing must free the seat");
});

test("delegated admin token assigns a license", async () => {
	const user = await createUser(admin, "jsadm");
	const updated = await assign(admin, user.userPrincipalName, [[cat.direct]]);
	assert.ok(skuIds(updated).has(cat.direct));
});

test("assignLicense without removeLicenses is 400", async () => {
	const user = await createUser(app, "jsmiss");
	await expectError(
		app.api(`/users/${user.id}/assignLicense`).post({ addLicenses: [{ skuId: cat.direct, disabledPlans: [] }] }),
		400,
		"Request_BadRequest",
		"One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: removeLicenses.",
		"assignLicense without removeLicenses",
	);
});

test("assignLicense of an unknown SKU is 400", async () => {
	const user = await createUser(app, "jsunk");
	const sku = randomUUID();
	await expectError(assign(app, user.id, [[sku]]), 400, "Request_BadRequest", `License ${sku} does not correspond to a valid company License.`, "unknown SKU");
});

test("assignLicense to a user without usageLocation is 400", async () => {
	const user = await createUser(app, "jsnoloc", { location: null });
	await expectError(
		assign(app, user.id, [[cat.direct]]),
		400,
		"Request_BadRequest",
		"License assignment cannot be done for user with invalid usage location.",
		"assign without usageLocation",
	);
});

test("removing a license the user does not hold is 400", async () => {
	const user = await createUser(app, "jsnotheld");
	await expectError(assign(app, user.id, [], [cat.direct]), 400, "Request_BadRequest", "User does not have a corresponding license.", "remove unheld");
});

test("assignLicense without a free seat is 400 (CountViolation)", async () => {
	assert.ok(cat.full, "the demo tenant has no product without free seats (see `skuld sku list`)");
	const user = await createUser(app, "jsfull");
	const before = await consumed(app, cat.full);
	await expectError(
		assign(app, user.id, [[cat.full]]),
		400,
		"Request_BadRequest",
		`Subscription with SKU ${cat.full} does not have any available licenses.`,
		"assign a product with no seats",
	);
	assert.equal(await consumed(app, cat.full), before);
});

test("assignLicense of mutually exclusive plans is 400", async () => {
	assert.ok(cat.e1Free >= 1 && cat.e3Free >= 1, JSON.stringify(cat));
	const user = await createUser(app, "jsexcl");
	await assign(app, user.id, [[E1]]);
	const e = await expectError(
		assign(app, user.id, [[E3]]),
		400,
		"Request_BadRequest",
		/^License assignment failed because service plans \S+,\S+ are mutually exclusive$/,
		"E3 on top of E1 (SharePoint Plan 1 vs Plan 2)",
	);
	const named = new Set(e.message.split("service plans ")[1].split(" are")[0].split(","));
	const ok = [new Set([SHAREPOINTSTANDARD, SHAREPOINTENTERPRISE]), new Set(["SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE"])];
	assert.ok(ok.some((s) => s.size === named.size && [...s].every((x) => named.has(x))), e.message);
	assert.deepEqual(skuIds(await getUser(app, user.id, "assignedLicenses")), new Set([E1]));
	await assign(app, user.id, [[E3, [SHAREPOINTENTERPRISE]]]); // fine with the conflicting plan disabled
});

test("assignLicense of a plan whose dependency is missing is 400", async () => {
	assert.ok(cat.audio && cat.audioFree >= 1, "need MCOMEETADV (Audio Conferencing) with a free seat");
	const user = await createUser(app, "jsdep");
	const e = await expectError(
		assign(app, user.id, [[cat.audio]]),
		400,
		"Request_BadRequest",
		/^License assignment failed because service plan \S+ depends on the service plan\(s\) .+$/,
		"Audio Conferencing without MCOSTANDARD",
	);
	assert.ok(e.message.includes(MCOMEETADV_PLAN) || e.message.includes("MCOMEETADV"), e.message);
	assert.ok(e.message.includes(MCOSTANDARD_PLAN) || e.message.includes("MCOSTANDARD"), e.message);
});

test("bad tokens are 401 InvalidAuthenticationToken", async () => {
	await expectError(makeClient("not-a-jwt").api("/users").get(), 401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).", "malformed token");
	const [h, p, s] = tokens.app.split(".");
	await expectError(makeClient(`${h}.${p}.${[...s].reverse().join("")}`).api("/users").get(), 401, "InvalidAuthenticationToken", undefined, "bad signature");
	await expectError(makeClient("").api("/users").get(), 401, "InvalidAuthenticationToken", "Access token is empty.", "empty token");
});

test("a token without rights is 403 Authorization_RequestDenied", async () => {
	const user = await createUser(app, "jsro");
	assert.equal((await getUser(ro, user.id)).id, user.id); // User.Read.All may read
	const denied = "Insufficient privileges to complete the operation.";
	await expectError(ro.api(`/users/${user.id}`).patch({ usageLocation: "FR" }), 403, "Authorization_RequestDenied", denied, "PATCH with User.Read.All");
	await expectError(assign(ro, user.id, [[cat.direct]]), 403, "Authorization_RequestDenied", denied, "assignLicense with User.Read.All");
	await expectError(ro.api("/users").post(userBody("jsro")), 403, "Authorization_RequestDenied", denied, "POST /users with User.Read.All");
});

// ------------------------------------------------------------------------------------------------
// Groups and group-based licensing

async function createGroup(client, prefix) {
	const nick = `${prefix}${RUN}${randomUUID().slice(0, 6)}`;
	const group = await client.api("/groups").post({ displayName: nick, mailEnabled: false, mailNickname: nick, securityEnabled: true, groupTypes: [] });
	assert.ok(group?.id);
	return group;
}

const addMember = (client, groupId, memberId) => client.api(`/groups/${groupId}/members/$ref`).post({ "@odata.id": `${DIRECTORY_OBJECTS}${memberId}` });

const groupAssign = (client, groupId, add = [], remove = []) => client.api(`/groups/${groupId}/assignLicense`).post(licenseBody(add.map((s) => [s]), remove));

async function waitProcessed(client, groupId) {
	await eventually(async () => {
		const g = await client.api(`/groups/${groupId}`).select(["id", "licenseProcessingState"]).get();
		return g.licenseProcessingState?.state === "ProcessingComplete";
	}, `group ${groupId} ProcessingComplete`);
}

const groupStates = (user, sku, groupId) => (user.licenseAssignmentStates ?? []).filter((s) => s.skuId === sku && s.assignedByGroup === groupId);

async function waitInherited(client, userId, sku, groupId) {
	return eventually(async () => {
		const u = await getUser(client, userId, "id", "assignedLicenses", "licenseAssignmentStates");
		const st = groupStates(u, sku, groupId);
		return skuIds(u).has(sku) && st.length && st[0].state === "Active" ? u : null;
	}, `user ${userId} to inherit ${sku} from ${groupId}`);
}

async function waitNotLicensed(client, userId, sku) {
	return eventually(async () => {
		const u = await getUser(client, userId, "id", "assignedLicenses", "licenseAssignmentStates");
		return !skuIds(u).has(sku) && !(u.licenseAssignmentStates ?? []).some((s) => s.skuId === sku) ? u : null;
	}, `user ${userId} to lose ${sku}`);
}

test("group license is inherited by members and leaves with them", async () => {
	const sku = cat.group;
	const group = await createGroup(app, "jsgbl");
	const u1 = await createUser(app, "jsgm1");
	const u2 = await createUser(app, "jsgm2");
	const u3 = await createUser(app, "jsgm3");
	await addMember(app, group.id, u1.id);
	const raw = await app.api(`/groups/${group.id}/assignLicense`).responseType(ResponseType.RAW).post(licenseBody([[sku]]));
	assert.equal(raw.status, 202, `POST /groups/{id}/assignLicense -> ${raw.status}, spec wants 202`);
	assert.equal((await raw.json()).id, group.id);
	assert.ok(raw.headers.get("location"), "202 without a Location header");
	await waitProcessed(app, group.id);
	const got = await waitInherited(app, u1.id, sku, group.id);
	assert.equal(groupStates(got, sku, group.id)[0].error, "None");
	const g = await app.api(`/groups/${group.id}`).select(["id", "assignedLicenses"]).get();
	assert.deepEqual(g.assignedLicenses.map((a) => a.skuId), [sku]);
	const details = await app.api(`/users/${u1.id}/licenseDetails`).get();
	assert.ok(details.value.some((d) => d.skuId === sku), "licenseDetails lists group-inherited licenses");

	await expectError(
		assign(app, u1.id, [], [sku]),
		400,
		"Request_BadRequest",
		"User license is inherited from a group membership and it cannot be removed directly from the user.",
		"remove an inherited license",
	);

	await addMember(app, group.id, u2.id);
	await addMember(app, group.id, u3.id);
	await waitInherited(app, u2.id, sku, group.id);
	await waitInherited(app, u3.id, sku, group.id);
	await expectError(
		addMember(app, group.id, u2.id),
		400,
		"Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.",
		"add a member twice",
	);

	await app.api(`/groups/${group.id}/members/${u1.id}/$ref`).delete();
	await waitNotLicensed(app, u1.id, sku);
	await app.api(`/groups/${group.id}/members/$ref`).query({ $id: `${DIRECTORY_OBJECTS}${u2.id}` }).delete();
	await waitNotLicensed(app, u2.id, sku);

	const members = await app.api(`/groups/${group.id}/members`).get();
	assert.deepEqual(members.value.map((m) => m.id), [u3.id]);
	assert.equal(members.value[0]["@odata.type"], "#microsoft.graph.user");

	await expectError(
		app.api(`/groups/${group.id}/members/${u1.id}/$ref`).delete(),
		400,
		"Request_BadRequest",
		"One or more removed object references do not exist for the following modified properties: 'members'.",
		"remove a non-member",
	);
	await expectError(
		addMember(app, group.id, randomUUID()),
		404,
		"Request_ResourceNotFound",
		/^Resource '[0-9a-f-]{36}' does not exist or one of its queried reference-property objects are not present\.$/,
		"add a member that does not exist",
	);
	// a group with licenses cannot be deleted (graph-api.md §3.2; the text is ours to choose)
	await expectError(app.api(`/groups/${group.id}`).delete(), 400, "Request_BadRequest", undefined, "DELETE a licensed group");
});

test("nested group members inherit the outer group's license", async () => {
	const sku = cat.group;
	const outer = await createGroup(app, "jsouter");
	const inner = await createGroup(app, "jsinner");
	const user = await createUser(app, "jsnest");
	await addMember(app, inner.id, user.id);
	await addMember(app, outer.id, inner.id);
	const returned = await groupAssign(app, outer.id, [sku]);
	assert.equal(returned.id, outer.id);
	await waitProcessed(app, outer.id);
	await waitInherited(app, user.id, sku, outer.id);
	const transitive = await app.api(`/groups/${outer.id}/transitiveMembers`).get();
	const kinds = Object.fromEntries(transitive.value.map((m) => [m.id, m["@odata.type"]]));
	assert.deepEqual(kinds, { [inner.id]: "#microsoft.graph.group", [user.id]: "#microsoft.graph.user" });
	await app.api(`/groups/${inner.id}/members/${user.id}/$ref`).delete();
	await waitNotLicensed(app, user.id, sku);
});

test("membersWithLicenseErrors and hasMembersWithLicenseErrors show CountViolation", async () => {
	assert.ok(cat.full, "the demo tenant has no product without free seats");
	const bad = await createGroup(app, "jserr");
	const clean = await createGroup(app, "jsclean");
	const user = await createUser(app, "jserr");
	await addMember(app, bad.id, user.id);
	await groupAssign(app, bad.id, [cat.full]);
	await waitProcessed(app, bad.id);
	const u = await eventually(async () => {
		const x = await getUser(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates");
		const st = groupStates(x, cat.full, bad.id);
		return st.length && st[0].error === "CountViolation" ? x : null;
	}, "CountViolation on the member");
	assert.equal(groupStates(u, cat.full, bad.id)[0].state, "Error");
	assert.ok(!skuIds(u).has(cat.full));
	const errs = await app.api(`/groups/${bad.id}/membersWithLicenseErrors`).get();
	assert.deepEqual(errs.value.map((m) => m.id), [user.id]);
	assert.equal(errs.value[0]["@odata.type"], "#microsoft.graph.user");
	const first = await app.api("/groups").filter("hasMembersWithLicenseErrors eq true").get();
	const ids = new Set((await allItems(app, first)).items.map((g) => g.id));
	assert.ok(ids.has(bad.id) && !ids.has(clean.id), JSON.stringify([...ids]));
});

// ------------------------------------------------------------------------------------------------
// $filter and $count

test("$filter assignedLicenses/any(x:x/skuId eq …)", async () => {
	const licensed = await createUser(app, "jsflt");
	const unlicensed = await createUser(app, "jsflt");
	await assign(app, licensed.id, [[cat.direct]]);
	const { items } = await listUsers(app, { filter: `assignedLicenses/any(x:x/skuId eq ${cat.direct})`, select: ["id", "assignedLicenses"], top: 999 });
	const ids = new Set(items.map((u) => u.id));
	assert.ok(ids.has(licensed.id) && !ids.has(unlicensed.id));
	assert.ok(items.every((u) => skuIds(u).has(cat.direct)));
});

test("$filter startswith(displayName,'…')", async () => {
	const prefix = `JsStarts${RUN}`;
	const made = [];
	for (let i = 0; i < 3; i++) made.push(await createUser(app, "x", { displayName: `${prefix} ${i}` }));
	await createUser(app, "x", { displayName: `Other${prefix}` });
	const { items } = await listUsers(app, { filter: `startswith(displayName,'${prefix}')` });
	assert.deepEqual(sorted(items.map((u) => u.id)), sorted(made.map((u) => u.id)));
});

test("$filter usageLocation eq 'US' and userType eq 'Member'", async () => {
	const us = await createUser(app, "jsus", { location: "US" });
	const gb = await createUser(app, "jsgb", { location: "GB" });
	const guest = await createUser(app, "jsguestus", { location: "US", userType: "Guest" });
	const { items } = await listUsers(app, { filter: "usageLocation eq 'US' and userType eq 'Member'", select: ["id", "usageLocation", "userType"], top: 999 });
	const ids = new Set(items.map((u) => u.id));
	assert.ok(ids.has(us.id) && !ids.has(gb.id) && !ids.has(guest.id));
	assert.ok(items.every((u) => u.usageLocation === "US" && u.userType === "Member"));
});

test("$count=true with ConsistencyLevel: eventual gives @odata.count", async () => {
	const prefix = `jscount${RUN}`;
	for (let i = 0; i < 3; i++) await createUser(app, "x", { displayName: `${prefix} ${i}` });
	const filter = `startswith(displayName,'${prefix}')`;
	const withHeader = await listUsers(app, { filter, count: true, eventual: true });
	assert.equal(withHeader.first["@odata.count"], 3);
	const without = await listUsers(app, { filter, count: true });
	assert.equal(without.first["@odata.count"], undefined, "without ConsistencyLevel $count=true is ignored");
	assert.equal(without.first.value.length, 3);
});

test("/users/$count needs ConsistencyLevel: eventual", async () => {
	await expectError(app.api("/users/$count").get(), 400, "Request_BadRequest", "$count is not currently supported.", "GET /users/$count without header");
	const total = await app.api("/users/$count").header("ConsistencyLevel", "eventual").get();
	const { items } = await listUsers(app, { top: 999 });
	assert.equal(Number(total), items.length, `/users/$count=${total}`);
});

// ------------------------------------------------------------------------------------------------
// $batch

test("$batch with a dependsOn chain: a failed request's dependant gets 424", async () => {
	const user = await createUser(app, "jsbatch");
	const missing = randomUUID();
	const req = (method, path, body) =>
		new Request(`${BASE}/v1.0${path}`, body ? { method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } } : { method });
	const batch = new BatchRequestContent([
		{ id: "1", request: req("GET", `/users/${user.id}`) },
		{ id: "2", request: req("PATCH", `/users/${user.id}`, { department: "Batch-2" }), dependsOn: ["1"] },
		{ id: "3", request: req("GET", `/users/${missing}`), dependsOn: ["2"] },
		{ id: "4", request: req("PATCH", `/users/${user.id}`, { department: "Batch-4" }), dependsOn: ["3"] },
	]);
	const content = await batch.getContent();
	assert.deepEqual(content.requests.map((r) => r.url), [`/v1.0/users/${user.id}`, `/v1.0/users/${user.id}`, `/v1.0/users/${missing}`, `/v1.0/users/${user.id}`]);
	const result = new BatchResponseContent(await app.api("/$batch").post(content));
	const codes = Object.fromEntries(["1", "2", "3", "4"].map((id) => [id, result.getResponseById(id)?.status]));
	assert.deepEqual(codes, { 1: 200, 2: 204, 3: 404, 4: 424 });
	assert.equal((await result.getResponseById("1").json()).id, user.id);
	assert.equal((await getUser(app, user.id, "department")).department, "Batch-2", "request 2 ran, request 4 did not");
});

// ------------------------------------------------------------------------------------------------
// Deleted items

test("delete, restore and permanently delete a user", async () => {
	const sku = cat.direct;
	const user = await createUser(app, "jsdel");
	const freeBefore = await consumed(app, sku);
	await assign(app, user.id, [[sku]]);
	const held = await consumed(app, sku);
	assert.equal(held, freeBefore + 1);
	await app.api(`/users/${user.id}`).delete();
	await expectError(app.api(`/users/${user.id}`).get(), 404, "Request_ResourceNotFound", undefined, "GET a deleted user");
	// deletedDateTime is not a default property of a user: select it.
	const deletedFirst = await app.api("/directory/deletedItems/microsoft.graph.user").select(["id", "userPrincipalName", "deletedDateTime"]).get();
	const deleted = (await allItems(app, deletedFirst)).items;
	const entry = deleted.find((d) => d.id === user.id);
	assert.ok(entry, "deleted user listed in /directory/deletedItems/microsoft.graph.user");
	assert.equal(entry["@odata.type"], "#microsoft.graph.user");
	assert.ok(entry.deletedDateTime, "deleted user has deletedDateTime");
	assert.equal(entry.userPrincipalName, user.userPrincipalName);
	const item = await app.api(`/directory/deletedItems/${user.id}`).get();
	assert.ok(item.deletedDateTime && item["@odata.type"] === "#microsoft.graph.user", JSON.stringify(item));

	const restored = await app.api(`/directory/deletedItems/${user.id}/restore`).post();
	assert.equal(restored.id, user.id);
	assert.equal(restored["@odata.type"], "#microsoft.graph.user");
	assert.ok(skuIds(await getUser(app, user.id, "id", "assignedLicenses")).has(sku), "restored with its licenses");
	assert.equal(await consumed(app, sku), held, "the restored user holds its seat");

	await app.api(`/users/${user.id}`).delete();
	await app.api(`/directory/deletedItems/${user.id}`).delete();
	assert.equal(await consumed(app, sku), freeBefore, "after the permanent delete the seat is free");
	await expectError(app.api(`/directory/deletedItems/${user.id}`).get(), 404, "Request_ResourceNotFound", undefined, "GET a purged item");
});

test("a soft-deleted user releases its seat at once (decision D7)", async () => {
	// skuld's decision D7 (ARCHITECTURE.md), where graph-api.md §14 leaves the choice open.
	const sku = cat.direct;
	const user = await createUser(app, "jsseat");
	await assign(app, user.id, [[sku]]);
	const held = await consumed(app, sku);
	await app.api(`/users/${user.id}`).delete();
	assert.equal(await consumed(app, sku), held - 1, "a soft-deleted user releases its seat (D7)");
	await app.api(`/directory/deletedItems/${user.id}/restore`).post({});
	assert.equal(await consumed(app, sku), held, "the restored user takes its seat again");
	await app.api(`/users/${user.id}`).delete();
	await app.api(`/directory/deletedItems/${user.id}`).delete();
	assert.equal(await consumed(app, sku), held - 1, "after the permanent delete the seat stays free");
});

// ------------------------------------------------------------------------------------------------
// Audit log

async function audits(client, activity) {
	const first = await client.api("/auditLogs/directoryAudits").filter(`activityDisplayName eq '${activity}'`).get();
	const { items } = await allItems(client, first);
	assert.ok(items.every((a) => a.activityDisplayName === activity));
	return items;
}

const targets = (entries) => new Set(entries.flatMap((a) => (a.targetResources ?? []).map((t) => t.id)));

test("audit log records license and lifecycle changes", async () => {
	const user = await createUser(app, "jsaudit");
	await assign(app, user.id, [[cat.direct]]);
	const byAdmin = await createUser(app, "jsaudit");
	await assign(admin, byAdmin.id, [[cat.direct]]);
	await app.api(`/users/${user.id}`).delete();
	await app.api(`/directory/deletedItems/${user.id}/restore`).post();
	const group = await createGroup(app, "jsaudit");
	await groupAssign(app, group.id, [cat.group]);

	const changes = await audits(app, "Change user license");
	const mine = changes.filter((a) => targets([a]).has(user.id));
	assert.ok(mine.length, "no 'Change user license' entry for the assignment");
	assert.equal(mine[0].result, "success");
	assert.equal(mine[0].initiatedBy?.user ?? null, null);
	assert.equal(mine[0].initiatedBy?.app?.appId, env("SKULD_CLIENT_ID"));
	// audit timestamps carry 7 fractional digits (graph-api.md §0)
	assert.match(mine[0].activityDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
	const admins = changes.filter((a) => targets([a]).has(byAdmin.id));
	assert.ok(admins.length && admins[0].initiatedBy?.user, "delegated change must name the user");
	assert.equal(admins[0].initiatedBy.user.userPrincipalName.toLowerCase(), ADMIN_UPN.toLowerCase());
	assert.ok(targets(await audits(admin, "Add user")).has(user.id), "Add user");
	assert.ok(targets(await audits(app, "Delete user")).has(user.id), "Delete user");
	assert.ok(targets(await audits(admin, "Restore user")).has(user.id), "Restore user");
	assert.ok(targets(await audits(app, "Set group license")).has(group.id), "Set group license");
});
