"""Contract tests: the real Python `msgraph-sdk` (1.65.0) against a running skuld.

The client is wired exactly as graph-api.md §12.1 says: a static bearer-token provider, a
`GraphRequestAdapter` whose `base_url` points at skuld over plain http, and
`GraphServiceClient(request_adapter=…)`. Tokens come from skuld's token endpoint.

Run by `scripts/contract`, which starts the server and exports:
  SKULD_HTTP_URL          http://127.0.0.1:PORT
  SKULD_TENANT_ID         the demo tenant's id
  SKULD_DOMAIN            its verified domain (contoso.test)
  SKULD_CLIENT_ID/SECRET  an app with User/LicenseAssignment/Group read-write and AuditLog.Read.All
  SKULD_RO_CLIENT_ID/SECRET  an app with User.Read.All only
  SKULD_ADMIN_UPN/PASSWORD   the demo Global Administrator (delegated token, grant_type=password)

Every expectation is graph-api.md's; a failing test names the request, what came back and
what the spec wants.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
import uuid
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlparse

import httpx
import pytest
import pytest_asyncio
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import ResponseHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.directory.deleted_items.graph_user.graph_user_request_builder import (
    GraphUserRequestBuilder,
)
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.groups.item.assign_license.assign_license_post_request_body import (
    AssignLicensePostRequestBody as GroupAssignLicenseBody,
)
from msgraph.generated.groups.item.group_item_request_builder import GroupItemRequestBuilder
from msgraph.generated.groups.item.members.ref.ref_request_builder import RefRequestBuilder
from msgraph.generated.models.assigned_license import AssignedLicense
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (
    AssignLicensePostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import PageIterator
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

# Every test and session fixture shares one event loop: the SDK's httpx clients live in it.
pytestmark = pytest.mark.asyncio(loop_scope="session")


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the suites through scripts/contract")
    return value


BASE = env("SKULD_HTTP_URL").rstrip("/")
HOST = urlparse(BASE).hostname or "127.0.0.1"
TENANT = env("SKULD_TENANT_ID")
DOMAIN = os.environ.get("SKULD_DOMAIN", "contoso.test")
PASSWORD = "xWwvJ]6NMw+bWH-d"
RUN = uuid.uuid4().hex[:6]  # distinguishes this run's objects from the JS suite's and the demo's
DIRECTORY_OBJECTS = "https://graph.microsoft.com/v1.0/directoryObjects/"

# Well-known products of the demo tenant (graph-api.md, licensing-semantics.md §4.2).
E1 = "18181a46-0d4e-45cd-891e-60aabd171b4e"  # STANDARDPACK: SHAREPOINTSTANDARD
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"  # ENTERPRISEPACK: SHAREPOINTENTERPRISE
SHAREPOINTSTANDARD = "c7699d2e-19aa-44de-8edf-1736da088ca1"
SHAREPOINTENTERPRISE = "5dbe027f-2339-4123-9542-606e4d348a72"
MCOMEETADV_PLAN = "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40"
MCOSTANDARD_PLAN = "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"
EXCHANGE_PLANS = ("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "efb87545-963c-4e0d-99df-69c6916d9eb0")


# --------------------------------------------------------------------------------------------
# Wiring (graph-api.md §12.1)


class StaticTokenProvider(AccessTokenProvider):
    def __init__(self, token: str, hosts: list[str]):
        self._token, self._hosts = token, AllowedHostsValidator(hosts)

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] = {}
    ) -> str:
        return self._token if self._hosts.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


class Graph:
    """A GraphServiceClient and its adapter (PageIterator needs the adapter)."""

    def __init__(self, token: str):
        auth = BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token, [HOST]))
        self.adapter = GraphRequestAdapter(auth)
        self.adapter.base_url = f"{BASE}/v1.0"
        self.client = GraphServiceClient(request_adapter=self.adapter)
        self.token = token


def fetch_token(**form: str) -> str:
    url = f"{BASE}/{TENANT}/oauth2/v2.0/token"
    r = httpx.post(url, data=form, timeout=30)
    assert r.status_code == 200, f"POST {url} ({form.get('grant_type')}) -> {r.status_code} {r.text}"
    body = r.json()
    assert body.get("token_type", "").lower() == "bearer", body
    assert body.get("access_token"), body
    return body["access_token"]


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    scope = "https://graph.microsoft.com/.default"
    return {
        "app": fetch_token(
            grant_type="client_credentials",
            client_id=env("SKULD_CLIENT_ID"),
            client_secret=env("SKULD_CLIENT_SECRET"),
            scope=scope,
        ),
        "ro": fetch_token(
            grant_type="client_credentials",
            client_id=env("SKULD_RO_CLIENT_ID"),
            client_secret=env("SKULD_RO_CLIENT_SECRET"),
            scope=scope,
        ),
        "admin": fetch_token(
            grant_type="password",
            client_id="contract-tests-python",
            username=env("SKULD_ADMIN_UPN"),
            password=env("SKULD_ADMIN_PASSWORD"),
            scope="https://graph.microsoft.com/.default openid profile",
        ),
    }


@pytest.fixture(scope="session")
def app(tokens) -> Graph:
    """Client-credentials token of the read-write app."""
    return Graph(tokens["app"])


@pytest.fixture(scope="session")
def admin(tokens) -> Graph:
    """Delegated token of the demo Global Administrator."""
    return Graph(tokens["admin"])


@pytest.fixture(scope="session")
def ro(tokens) -> Graph:
    """Client-credentials token of the app holding only User.Read.All."""
    return Graph(tokens["ro"])


# --------------------------------------------------------------------------------------------
# Helpers


async def expect_error(
    awaitable: Awaitable[Any],
    status: int,
    code: str,
    message: Optional[str] = None,
    message_re: Optional[str] = None,
    what: str = "",
) -> ODataError:
    """The call must raise ODataError with this status, error.code and (exact) message."""
    try:
        result = await awaitable
    except ODataError as e:
        got = (e.response_status_code, e.error.code if e.error else None, e.error.message if e.error else None)
        assert e.response_status_code == status, f"{what}: status {got}, spec wants {status} {code}"
        assert e.error is not None, f"{what}: ODataError without error body"
        assert e.error.code == code, f"{what}: got {got}, spec wants code {code}"
        if message is not None:
            assert e.error.message == message, f"{what}: message {e.error.message!r}, spec wants {message!r}"
        if message_re is not None:
            assert re.fullmatch(message_re, e.error.message or ""), (
                f"{what}: message {e.error.message!r} does not match {message_re!r}"
            )
        inner = e.error.inner_error  # graph-api.md §8: innerError {request-id, client-request-id, date}
        assert inner is not None and inner.request_id and inner.client_request_id and inner.date, (
            f"{what}: innerError incomplete: {inner!r}"
        )
        return e
    raise AssertionError(f"{what}: expected {status} {code}, the call succeeded with {result!r}")


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns a truthy value (group licensing is asynchronous)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.25)


def new_user_body(
    prefix: str,
    location: Optional[str] = "US",
    upn: Optional[str] = None,
    display_name: Optional[str] = None,
    user_type: Optional[str] = None,
) -> User:
    nick = f"{prefix}{RUN}{uuid.uuid4().hex[:6]}"
    return User(
        account_enabled=True,
        display_name=display_name or nick,
        mail_nickname=nick,
        user_principal_name=upn or f"{nick}@{DOMAIN}",
        usage_location=location,
        user_type=user_type,
        password_profile=PasswordProfile(password=PASSWORD, force_change_password_next_sign_in=True),
    )


async def create_user(g: Graph, prefix: str = "py", **kw: Any) -> User:
    user = await g.client.users.post(new_user_body(prefix, **kw))
    assert user is not None and user.id, "POST /users returned no user"
    return user


async def get_user(g: Graph, key: str, *select: str) -> User:
    qp = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=list(select) or None)
    user = await g.client.users.by_user_id(key).get(RequestConfiguration(query_parameters=qp))
    assert user is not None
    return user


def license_body(add: list[tuple[str, list[str]]] = (), remove: list[str] = ()) -> AssignLicensePostRequestBody:
    return AssignLicensePostRequestBody(
        add_licenses=[
            AssignedLicense(sku_id=uuid.UUID(s), disabled_plans=[uuid.UUID(p) for p in plans]) for s, plans in add
        ],
        remove_licenses=[uuid.UUID(s) for s in remove],
    )


async def assign(g: Graph, key: str, add: list[tuple[str, list[str]]] = (), remove: list[str] = ()) -> User:
    return await g.client.users.by_user_id(key).assign_license.post(license_body(add, remove))


def sku_ids(user: User) -> set[str]:
    return {str(a.sku_id) for a in user.assigned_licenses or []}


async def all_items(g: Graph, first_page: Any) -> tuple[list[Any], int]:
    """Every item of a collection through msgraph_core.PageIterator; returns (items, pages)."""
    items: list[Any] = []
    pages = 1

    def collect(item: Any) -> bool:
        items.append(item)
        return True

    iterator = PageIterator(first_page, g.adapter)
    original_next = iterator.next

    async def counting_next():
        nonlocal pages
        page = await original_next()
        if page is not None:
            pages += 1
        return page

    iterator.next = counting_next  # type: ignore[method-assign]
    await iterator.iterate(collect)
    return items, pages


async def list_users(
    g: Graph,
    *,
    filter: Optional[str] = None,
    select: Optional[list[str]] = None,
    top: Optional[int] = None,
    count: Optional[bool] = None,
    eventual: bool = False,
) -> tuple[list[User], Any, int]:
    qp = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=filter, select=select, top=top, count=count)
    config = RequestConfiguration(query_parameters=qp)
    if eventual:
        config.headers.add("ConsistencyLevel", "eventual")
    first = await g.client.users.get(config)
    assert first is not None
    items, pages = await all_items(g, first)
    return items, first, pages


class Skus:
    def __init__(self, skus: list[Any]):
        self.all = skus
        self.by_id = {str(s.sku_id): s for s in skus}
        self.by_part = {s.sku_part_number: s for s in skus}

    @staticmethod
    def free(s: Any) -> int:
        return (s.prepaid_units.enabled or 0) - (s.consumed_units or 0)


async def subscribed_skus(g: Graph) -> Skus:
    resp = await g.client.subscribed_skus.get()
    assert resp is not None and resp.value, "GET /subscribedSkus returned no products"
    return Skus(resp.value)


async def consumed(g: Graph, sku: str) -> int:
    return (await subscribed_skus(g)).by_id[sku].consumed_units


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def catalog(app: Graph) -> dict[str, Any]:
    """SKU ids and plan ids for the tests, all read from GET /subscribedSkus."""
    skus = await subscribed_skus(app)
    user_skus = [s for s in skus.all if s.applies_to == "User" and s.capability_status == "Enabled"]
    roomy = sorted(
        (s for s in user_skus if len(s.service_plans or []) >= 2 and str(s.sku_id) not in (E1,)),
        key=lambda s: -Skus.free(s),
    )
    assert roomy and Skus.free(roomy[0]) >= 10, "no product with 10 free seats in the demo tenant"
    # Direct-assignment tests and group tests use different products so that consumedUnits
    # checks are not disturbed by the group-licensing worker.
    direct = skus.by_id.get(E3) if E3 in skus.by_id and Skus.free(skus.by_id[E3]) >= 10 else roomy[0]
    group = next((s for s in roomy if s.sku_id != direct.sku_id and Skus.free(s) >= 8), None)
    assert group is not None, "need a second product with 8 free seats for the group tests"
    # A product without free seats (the demo keeps Office 365 E5 full); the biggest such one, so
    # not a single-seat self-service purchase.
    full_skus = [s for s in user_skus if (s.prepaid_units.enabled or 0) > 0 and Skus.free(s) <= 0]
    full = max(full_skus, key=lambda s: s.prepaid_units.enabled, default=None)
    audio = next((s for s in user_skus if s.sku_part_number == "MCOMEETADV"), None)
    e1 = skus.by_id.get(E1)
    # A plan of `direct` that no conflict/dependency rule mentions, to disable (SWAY when there).
    ruled = {MCOSTANDARD_PLAN, MCOMEETADV_PLAN, SHAREPOINTSTANDARD, SHAREPOINTENTERPRISE, *EXCHANGE_PLANS}
    candidates = [p for p in direct.service_plans if str(p.service_plan_id) not in ruled and p.applies_to == "User"]
    plan = next((p for p in candidates if p.service_plan_name == "SWAY"), candidates[0])
    return {
        "direct": str(direct.sku_id),
        "direct_part": direct.sku_part_number,
        "direct_plan": str(plan.service_plan_id),
        "direct_plans": {str(p.service_plan_id) for p in direct.service_plans},
        "group": str(group.sku_id),
        "full": str(full.sku_id) if full else None,
        "audio": str(audio.sku_id) if audio else None,
        "audio_free": Skus.free(audio) if audio else 0,
        "e1": str(e1.sku_id) if e1 else None,
        "e1_free": Skus.free(e1) if e1 else 0,
        "e3_free": Skus.free(skus.by_id[E3]) if E3 in skus.by_id else 0,
    }


# --------------------------------------------------------------------------------------------
# Tokens and the signed-in user


async def test_token_endpoint_issues_app_and_delegated_tokens(tokens, admin: Graph):
    for name in ("app", "ro", "admin"):
        assert tokens[name].count(".") == 2, f"{name} token is not a JWT"
    me = await admin.client.me.get()
    assert me is not None
    assert me.user_principal_name.lower() == env("SKULD_ADMIN_UPN").lower(), me.user_principal_name


# --------------------------------------------------------------------------------------------
# Users


async def test_create_user_returns_201_with_default_properties(app: Graph):
    body = new_user_body("pycreate", location="US")
    capture = CaptureResponse()
    config = RequestConfiguration(options=[ResponseHandlerOption(capture)])
    await app.client.users.post(body, config)
    assert capture.status == 201, f"POST /users -> {capture.status}, spec wants 201"
    created = capture.json
    assert created["@odata.context"].endswith("$metadata#users/$entity"), created.get("@odata.context")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", created["id"]), created["id"]
    assert created["userPrincipalName"] == body.user_principal_name
    assert created["displayName"] == body.display_name
    for prop in ("businessPhones", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
                 "preferredLanguage", "surname"):
        assert prop in created, f"default property {prop} missing from the 201 body: {created}"
    assert "usageLocation" not in created and "assignedLicenses" not in created, created
    # and through the SDK's own deserialisation
    user = await create_user(app, "pycreate")
    assert user.user_principal_name.endswith(f"@{DOMAIN}")
    got = await get_user(app, user.id, "id", "usageLocation", "accountEnabled", "userType")
    assert got.usage_location == "US"
    assert got.account_enabled is True


async def test_get_user_by_id_and_by_upn(app: Graph):
    user = await create_user(app, "pyget")
    by_id = await get_user(app, user.id)
    by_upn = await get_user(app, user.user_principal_name)
    by_upper = await get_user(app, user.user_principal_name.upper())
    assert by_id.id == by_upn.id == by_upper.id == user.id
    assert by_upn.user_principal_name == user.user_principal_name


async def test_get_user_by_upn_needing_percent_encoding(app: Graph):
    upn = f"x_y{RUN}.test#EXT#@{DOMAIN}"
    user = await create_user(app, "pyguest", upn=upn)
    assert user.user_principal_name == upn
    got = await get_user(app, upn, "id", "userPrincipalName", "usageLocation")  # SDK sends %23EXT%23%40
    assert got.id == user.id and got.user_principal_name == upn
    await app.client.users.by_user_id(upn).patch(User(department="Guests"))  # writes decode it too
    got = await get_user(app, user.id, "id", "department")
    assert got.department == "Guests"


async def test_update_user_usage_location(app: Graph):
    user = await create_user(app, "pypatch", location="US")
    result = await app.client.users.by_user_id(user.id).patch(User(usage_location="GB"))
    assert result is None  # 204 No Content
    got = await get_user(app, user.id, "id", "usageLocation", "displayName")
    assert got.usage_location == "GB"
    assert got.display_name == user.display_name  # only supplied properties change


async def test_list_users_page_iterator_top_5_sees_every_user_once(app: Graph):
    prefix = f"pypage{RUN}"
    created = [await create_user(app, "x", display_name=f"{prefix} {i:02d}") for i in range(12)]
    items, first, pages = await list_users(app, filter=f"startswith(displayName,'{prefix}')", top=5)
    assert len(first.value) == 5, f"first page has {len(first.value)} items with $top=5"
    assert first.odata_next_link and first.odata_next_link.startswith("http"), first.odata_next_link
    ids = [u.id for u in items]
    assert pages == 3, f"12 users with $top=5 came in {pages} pages"
    assert sorted(ids) == sorted(u.id for u in created), "every user exactly once"
    # the whole directory too: no user twice across pages
    everyone, _, pages_all = await list_users(app, top=5)
    all_ids = [u.id for u in everyone]
    assert len(all_ids) == len(set(all_ids)), "a user appeared on two pages"
    assert {u.id for u in created} <= set(all_ids)
    assert pages_all >= 3
    await expect_error(
        list_users(app, top=1000), 400, "Request_UnsupportedQuery",
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.", what="GET /users?$top=1000",
    )


async def test_get_missing_user_is_404_resource_not_found(app: Graph):
    key = str(uuid.uuid4())
    await expect_error(
        app.client.users.by_user_id(key).get(), 404, "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        what=f"GET /users/{key}",
    )
    upn = f"nobody{RUN}@{DOMAIN}"
    await expect_error(
        app.client.users.by_user_id(upn).get(), 404, "Request_ResourceNotFound",
        f"Resource '{upn}' does not exist or one of its queried reference-property objects are not present.",
        what=f"GET /users/{upn}",
    )


# --------------------------------------------------------------------------------------------
# Direct license assignment


class CaptureResponse:
    """A kiota response handler that keeps the raw httpx response (to see status and headers)."""

    def __init__(self) -> None:
        self.response: Optional[httpx.Response] = None

    async def handle_response_async(self, response: httpx.Response, error_map: Any = None) -> None:
        self.response = response
        return None

    @property
    def status(self) -> Optional[int]:
        return self.response.status_code if self.response is not None else None

    @property
    def json(self) -> Any:
        assert self.response is not None
        return self.response.json()


async def test_assign_license_without_disabled_plans(app: Graph, catalog):
    sku = catalog["direct"]
    user = await create_user(app, "pylic")
    before = await consumed(app, sku)
    updated = await assign(app, user.id, add=[(sku, [])])
    assert isinstance(updated, User) and updated.id == user.id
    assert sku in sku_ids(updated), f"assignLicense response assignedLicenses={updated.assigned_licenses}"
    assert updated.assigned_plans, "assignLicense answers the user with assignedPlans (graph-api.md §2.1)"
    assert await consumed(app, sku) == before + 1, "consumedUnits must grow by one"
    got = await get_user(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates", "assignedPlans")
    [lic] = [a for a in got.assigned_licenses if str(a.sku_id) == sku]
    assert lic.disabled_plans == []
    [state] = [s for s in got.license_assignment_states if str(s.sku_id) == sku]
    assert state.assigned_by_group is None and state.state == "Active" and state.error == "None", state
    assert {str(p.service_plan_id) for p in got.assigned_plans} >= catalog["direct_plans"], got.assigned_plans
    details = await app.client.users.by_user_id(user.id).license_details.get()
    [detail] = [d for d in details.value if str(d.sku_id) == sku]
    assert detail.sku_part_number == catalog["direct_part"]
    assert {str(p.service_plan_id) for p in detail.service_plans} == catalog["direct_plans"]
    assert all(p.provisioning_status != "Disabled" for p in detail.service_plans)
    # licenseDetails id DECISION (graph-api.md §2.3): base64url(bytes_le(userId) || bytes_le(skuId))
    raw = base64.urlsafe_b64decode(detail.id + "=" * (-len(detail.id) % 4))
    assert raw == uuid.UUID(user.id).bytes_le + uuid.UUID(sku).bytes_le, detail.id
    one = await app.client.users.by_user_id(user.id).license_details.by_license_details_id(detail.id).get()
    assert one.id == detail.id and str(one.sku_id) == sku
    skus = await subscribed_skus(app)
    assert skus.by_id[sku].id == f"{TENANT}_{sku}", skus.by_id[sku].id


async def test_assign_license_with_disabled_plans_then_remove(app: Graph, catalog):
    sku, plan = catalog["direct"], catalog["direct_plan"]
    user = await create_user(app, "pydis")
    before = await consumed(app, sku)
    await assign(app, user.id, add=[(sku, [plan])])
    got = await get_user(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates")
    [lic] = [a for a in got.assigned_licenses if str(a.sku_id) == sku]
    assert [str(p) for p in lic.disabled_plans] == [plan]
    [state] = [s for s in got.license_assignment_states if str(s.sku_id) == sku]
    assert [str(p) for p in state.disabled_plans] == [plan] and state.state == "Active", state
    details = await app.client.users.by_user_id(user.id).license_details.get()
    [detail] = [d for d in details.value if str(d.sku_id) == sku]
    statuses = {str(p.service_plan_id): p.provisioning_status for p in detail.service_plans}
    assert statuses[plan] == "Disabled", statuses
    assert await consumed(app, sku) == before + 1

    # addLicenses for a SKU already held replaces its disabledPlans (how plans are toggled)
    await assign(app, user.id, add=[(sku, [])])
    got = await get_user(app, user.id, "id", "assignedLicenses")
    [lic] = [a for a in got.assigned_licenses if str(a.sku_id) == sku]
    assert lic.disabled_plans == []
    assert await consumed(app, sku) == before + 1, "re-adding must not take a second seat"

    removed = await assign(app, user.id, remove=[sku])
    assert sku not in sku_ids(removed)
    got = await get_user(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates")
    assert got.assigned_licenses == [] and not got.license_assignment_states, got
    details = await app.client.users.by_user_id(user.id).license_details.get()
    assert details.value == []
    assert await consumed(app, sku) == before, "removing must free the seat"


async def test_delegated_admin_token_assigns_license(admin: Graph, app: Graph, catalog):
    sku = catalog["direct"]
    user = await create_user(admin, "pyadm")
    updated = await assign(admin, user.user_principal_name, add=[(sku, [])])
    assert sku in sku_ids(updated)
    got = await get_user(app, user.id, "id", "assignedLicenses")
    assert sku in sku_ids(got)


async def test_assign_license_missing_remove_licenses_is_400(app: Graph, catalog):
    user = await create_user(app, "pymiss")
    body = AssignLicensePostRequestBody(
        add_licenses=[AssignedLicense(sku_id=uuid.UUID(catalog["direct"]), disabled_plans=[])]
    )  # remove_licenses unset: the SDK omits the key
    await expect_error(
        app.client.users.by_user_id(user.id).assign_license.post(body), 400, "Request_BadRequest",
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. "
        "The missing parameters are: removeLicenses.",
        what="assignLicense without removeLicenses",
    )
    got = await get_user(app, user.id, "id", "assignedLicenses")
    assert got.assigned_licenses == []


async def test_assign_unknown_sku_is_400(app: Graph):
    user = await create_user(app, "pyunk")
    sku = str(uuid.uuid4())
    await expect_error(
        assign(app, user.id, add=[(sku, [])]), 400, "Request_BadRequest",
        f"License {sku} does not correspond to a valid company License.", what="assign unknown SKU",
    )


async def test_assign_to_user_without_usage_location_is_400(app: Graph, catalog):
    user = await create_user(app, "pynoloc", location=None)
    await expect_error(
        assign(app, user.id, add=[(catalog["direct"], [])]), 400, "Request_BadRequest",
        "License assignment cannot be done for user with invalid usage location.", what="assign without usageLocation",
    )


async def test_remove_license_not_assigned_is_400(app: Graph, catalog):
    user = await create_user(app, "pynotheld")
    await expect_error(
        assign(app, user.id, remove=[catalog["direct"]]), 400, "Request_BadRequest",
        "User does not have a corresponding license.", what="remove a license the user lacks",
    )


async def test_assign_without_free_seat_is_400_count_violation(app: Graph, catalog):
    full = catalog["full"]
    assert full, "the demo tenant has no product without free seats (see `skuld sku list`)"
    user = await create_user(app, "pyfull")
    before = await consumed(app, full)
    await expect_error(
        assign(app, user.id, add=[(full, [])]), 400, "Request_BadRequest",
        f"Subscription with SKU {full} does not have any available licenses.", what="assign a product with no seats",
    )
    assert await consumed(app, full) == before
    got = await get_user(app, user.id, "id", "assignedLicenses")
    assert got.assigned_licenses == []


async def test_assign_mutually_exclusive_plans_is_400(app: Graph, catalog):
    assert catalog["e1"] and catalog["e1_free"] >= 1 and catalog["e3_free"] >= 1, catalog
    user = await create_user(app, "pyexcl")
    await assign(app, user.id, add=[(E1, [])])
    e = await expect_error(
        assign(app, user.id, add=[(E3, [])]), 400, "Request_BadRequest",
        message_re=r"License assignment failed because service plans \S+,\S+ are mutually exclusive",
        what="E3 on top of E1 (SharePoint Plan 1 vs Plan 2)",
    )
    named = set(e.error.message.split("service plans ")[1].split(" are")[0].split(","))
    assert named in ({SHAREPOINTSTANDARD, SHAREPOINTENTERPRISE}, {"SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE"}), named
    got = await get_user(app, user.id, "id", "assignedLicenses")
    assert sku_ids(got) == {E1}, "a refused assignment changes nothing"
    # With the conflicting plan disabled the same product is accepted.
    await assign(app, user.id, add=[(E3, [SHAREPOINTENTERPRISE])])


async def test_assign_plan_with_missing_dependency_is_400(app: Graph, catalog):
    audio = catalog["audio"]
    assert audio and catalog["audio_free"] >= 1, "need MCOMEETADV (Audio Conferencing) with a free seat"
    user = await create_user(app, "pydep")
    e = await expect_error(
        assign(app, user.id, add=[(audio, [])]), 400, "Request_BadRequest",
        message_re=r"License assignment failed because service plan \S+ depends on the service plan\(s\) .+",
        what="Audio Conferencing without Skype for Business (MCOSTANDARD)",
    )
    msg = e.error.message
    assert MCOMEETADV_PLAN in msg or "MCOMEETADV" in msg, msg
    assert MCOSTANDARD_PLAN in msg or "MCOSTANDARD" in msg, msg


async def test_bad_tokens_are_401(app: Graph):
    await expect_error(
        Graph("not-a-jwt").client.users.get(), 401, "InvalidAuthenticationToken",
        "IDX14100: JWT is not well formed, there are no dots (.).", what="GET /users with a malformed token",
    )
    head, payload, sig = app.token.split(".")
    forged = f"{head}.{payload}.{sig[::-1] if len(sig) > 1 else 'x'}"
    await expect_error(
        Graph(forged).client.users.get(), 401, "InvalidAuthenticationToken",
        what="GET /users with a bad signature",
    )
    e = await expect_error(
        Graph("").client.users.get(), 401, "InvalidAuthenticationToken", "Access token is empty.",
        what="GET /users without a token",
    )
    headers = {k.lower(): v for k, v in (e.response_headers or {}).items()}
    assert headers.get("www-authenticate", "").startswith("Bearer"), f"401 without WWW-Authenticate: {headers}"


async def test_token_without_rights_is_403(ro: Graph, app: Graph, catalog):
    user = await create_user(app, "pyro")
    got = await get_user(ro, user.id)  # User.Read.All may read
    assert got.id == user.id
    await expect_error(
        ro.client.users.by_user_id(user.id).patch(User(usage_location="FR")), 403, "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.", what="PATCH /users with User.Read.All",
    )
    await expect_error(
        assign(ro, user.id, add=[(catalog["direct"], [])]), 403, "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.", what="assignLicense with User.Read.All",
    )
    await expect_error(
        ro.client.users.post(new_user_body("pyro")), 403, "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.", what="POST /users with User.Read.All",
    )


# --------------------------------------------------------------------------------------------
# Groups and group-based licensing


async def create_group(g: Graph, prefix: str) -> Group:
    nick = f"{prefix}{RUN}{uuid.uuid4().hex[:6]}"
    group = await g.client.groups.post(
        Group(display_name=nick, mail_enabled=False, mail_nickname=nick, security_enabled=True, group_types=[])
    )
    assert group is not None and group.id
    return group


async def add_member(g: Graph, group_id: str, member_id: str) -> None:
    await g.client.groups.by_group_id(group_id).members.ref.post(
        ReferenceCreate(odata_id=f"{DIRECTORY_OBJECTS}{member_id}")
    )


async def group_state(g: Graph, group_id: str) -> Group:
    qp = GroupItemRequestBuilder.GroupItemRequestBuilderGetQueryParameters(
        select=["id", "assignedLicenses", "licenseProcessingState"]
    )
    return await g.client.groups.by_group_id(group_id).get(RequestConfiguration(query_parameters=qp))


async def wait_processed(g: Graph, group_id: str) -> None:
    async def done():
        grp = await group_state(g, group_id)
        return grp.license_processing_state and grp.license_processing_state.state == "ProcessingComplete"

    await eventually(done, f"group {group_id} licenseProcessingState ProcessingComplete")


def group_states(user: User, sku: str, group_id: str) -> list[Any]:
    return [
        s for s in user.license_assignment_states or [] if str(s.sku_id) == sku and s.assigned_by_group == group_id
    ]


async def wait_inherited(g: Graph, user_id: str, sku: str, group_id: str) -> User:
    async def has():
        u = await get_user(g, user_id, "id", "assignedLicenses", "licenseAssignmentStates")
        states = group_states(u, sku, group_id)
        return u if sku in sku_ids(u) and states and states[0].state == "Active" else None

    return await eventually(has, f"user {user_id} to inherit {sku} from group {group_id}")


async def wait_not_licensed(g: Graph, user_id: str, sku: str) -> User:
    async def gone():
        u = await get_user(g, user_id, "id", "assignedLicenses", "licenseAssignmentStates")
        return u if sku not in sku_ids(u) and not [s for s in u.license_assignment_states or [] if str(s.sku_id) == sku] else None

    return await eventually(gone, f"user {user_id} to lose {sku}")


async def group_assign(g: Graph, group_id: str, add=(), remove=()) -> Any:
    body = GroupAssignLicenseBody(
        add_licenses=[AssignedLicense(sku_id=uuid.UUID(s), disabled_plans=[]) for s in add],
        remove_licenses=[uuid.UUID(s) for s in remove],
    )
    return await g.client.groups.by_group_id(group_id).assign_license.post(body)


async def test_group_license_is_inherited_by_members(app: Graph, catalog):
    sku = catalog["group"]
    group = await create_group(app, "pygbl")
    u1 = await create_user(app, "pygm1")
    u2 = await create_user(app, "pygm2")
    u3 = await create_user(app, "pygm3", location=None)  # falls back to the tenant's location
    await add_member(app, group.id, u1.id)

    capture = CaptureResponse()
    body = GroupAssignLicenseBody(add_licenses=[AssignedLicense(sku_id=uuid.UUID(sku), disabled_plans=[])],
                                  remove_licenses=[])
    await app.client.groups.by_group_id(group.id).assign_license.post(
        body, RequestConfiguration(options=[ResponseHandlerOption(capture)])
    )
    assert capture.status == 202, f"POST /groups/{{id}}/assignLicense -> {capture.status}, spec wants 202"
    assert capture.json.get("id") == group.id, capture.json
    assert capture.response.headers.get("location"), "202 without a Location header"

    await wait_processed(app, group.id)
    u1_state = await wait_inherited(app, u1.id, sku, group.id)
    [st] = group_states(u1_state, sku, group.id)
    assert st.error == "None" and st.state == "Active"
    grp = await group_state(app, group.id)
    assert [str(a.sku_id) for a in grp.assigned_licenses] == [sku]
    details = await app.client.users.by_user_id(u1.id).license_details.get()
    assert sku in {str(d.sku_id) for d in details.value}, "licenseDetails lists group-inherited licenses"

    # an inherited license cannot be removed directly
    await expect_error(
        assign(app, u1.id, remove=[sku]), 400, "Request_BadRequest",
        "User license is inherited from a group membership and it cannot be removed directly from the user.",
        what="remove an inherited license from the user",
    )

    await add_member(app, group.id, u2.id)
    await add_member(app, group.id, u3.id)
    await wait_inherited(app, u2.id, sku, group.id)
    await wait_inherited(app, u3.id, sku, group.id)

    # duplicate member -> 400 with Graph's text
    await expect_error(
        add_member(app, group.id, u2.id), 400, "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
        what="add a member twice",
    )

    # remove, item form: DELETE /groups/{id}/members/{memberId}/$ref
    await app.client.groups.by_group_id(group.id).members.by_directory_object_id(u1.id).ref.delete()
    await wait_not_licensed(app, u1.id, sku)
    # remove, the SDK's top-level form: DELETE /groups/{id}/members/$ref?@id=…
    qp = RefRequestBuilder.RefRequestBuilderDeleteQueryParameters(id=f"{DIRECTORY_OBJECTS}{u2.id}")
    await app.client.groups.by_group_id(group.id).members.ref.delete(RequestConfiguration(query_parameters=qp))
    await wait_not_licensed(app, u2.id, sku)

    members = await app.client.groups.by_group_id(group.id).members.get()
    assert [m.id for m in members.value] == [u3.id]
    assert isinstance(members.value[0], User), f"members item without @odata.type: {type(members.value[0])}"

    await expect_error(
        app.client.groups.by_group_id(group.id).members.by_directory_object_id(u1.id).ref.delete(),
        400, "Request_BadRequest",
        "One or more removed object references do not exist for the following modified properties: 'members'.",
        what="remove a non-member",
    )
    await expect_error(
        add_member(app, group.id, str(uuid.uuid4())), 404, "Request_ResourceNotFound",
        message_re=r"Resource '[0-9a-f-]{36}' does not exist or one of its queried reference-property objects are not present\.",
        what="add a member that does not exist",
    )
    # a group with licenses cannot be deleted (graph-api.md §3.2; the text is ours to choose)
    await expect_error(app.client.groups.by_group_id(group.id).delete(), 400, "Request_BadRequest",
                       what="DELETE a licensed group")


async def test_nested_group_members_inherit_license(app: Graph, catalog):
    sku = catalog["group"]
    outer = await create_group(app, "pyouter")
    inner = await create_group(app, "pyinner")
    user = await create_user(app, "pynest")
    await add_member(app, inner.id, user.id)
    await add_member(app, outer.id, inner.id)
    returned = await group_assign(app, outer.id, add=[sku])
    assert isinstance(returned, Group) and returned.id == outer.id
    await wait_processed(app, outer.id)
    got = await wait_inherited(app, user.id, sku, outer.id)
    [st] = group_states(got, sku, outer.id)
    assert st.assigned_by_group == outer.id

    transitive = await app.client.groups.by_group_id(outer.id).transitive_members.get()
    kinds = {m.id: type(m).__name__ for m in transitive.value}
    assert kinds == {inner.id: "Group", user.id: "User"}, kinds
    direct = await app.client.groups.by_group_id(outer.id).members.get()
    assert [m.id for m in direct.value] == [inner.id]

    # leaving the inner group removes the inherited license
    await app.client.groups.by_group_id(inner.id).members.by_directory_object_id(user.id).ref.delete()
    await wait_not_licensed(app, user.id, sku)


async def test_members_with_license_errors_show_count_violation(app: Graph, catalog):
    full = catalog["full"]
    assert full, "the demo tenant has no product without free seats (see `skuld sku list`)"
    bad = await create_group(app, "pyerr")
    clean = await create_group(app, "pyclean")
    user = await create_user(app, "pyerr")
    await add_member(app, bad.id, user.id)
    await group_assign(app, bad.id, add=[full])
    await wait_processed(app, bad.id)

    async def errored():
        u = await get_user(app, user.id, "id", "assignedLicenses", "licenseAssignmentStates")
        states = group_states(u, full, bad.id)
        return u if states and states[0].error == "CountViolation" else None

    u = await eventually(errored, "CountViolation on the member")
    [st] = group_states(u, full, bad.id)
    assert st.state == "Error", st
    assert full not in sku_ids(u)

    errs = await app.client.groups.by_group_id(bad.id).members_with_license_errors.get()
    assert [m.id for m in errs.value] == [user.id]
    assert isinstance(errs.value[0], User)

    qp = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(filter="hasMembersWithLicenseErrors eq true")
    first = await app.client.groups.get(RequestConfiguration(query_parameters=qp))
    groups, _ = await all_items(app, first)
    ids = {grp.id for grp in groups}
    assert bad.id in ids and clean.id not in ids, ids


# --------------------------------------------------------------------------------------------
# $filter and $count


async def test_filter_assigned_licenses_any_sku(app: Graph, catalog):
    sku = catalog["direct"]
    licensed = await create_user(app, "pyflt")
    unlicensed = await create_user(app, "pyflt")
    await assign(app, licensed.id, add=[(sku, [])])
    users, _, _ = await list_users(
        app, filter=f"assignedLicenses/any(x:x/skuId eq {sku})", select=["id", "assignedLicenses"], top=999
    )
    ids = {u.id for u in users}
    assert licensed.id in ids and unlicensed.id not in ids
    assert all(sku in sku_ids(u) for u in users), "every match holds the SKU"


async def test_filter_startswith_display_name(app: Graph):
    prefix = f"PyStarts{RUN}"
    made = [await create_user(app, "x", display_name=f"{prefix} {i}") for i in range(3)]
    await create_user(app, "x", display_name=f"Other{prefix}")
    users, _, _ = await list_users(app, filter=f"startswith(displayName,'{prefix}')")
    assert sorted(u.id for u in users) == sorted(u.id for u in made)


async def test_filter_usage_location_and_user_type(app: Graph):
    us = await create_user(app, "pyus", location="US")
    gb = await create_user(app, "pygb", location="GB")
    guest = await create_user(app, "pyguestus", location="US", user_type="Guest")
    users, _, _ = await list_users(
        app, filter="usageLocation eq 'US' and userType eq 'Member'",
        select=["id", "usageLocation", "userType"], top=999,
    )
    ids = {u.id for u in users}
    assert us.id in ids and gb.id not in ids and guest.id not in ids
    assert all(u.usage_location == "US" and u.user_type == "Member" for u in users)


async def test_count_true_with_consistency_level_eventual(app: Graph):
    prefix = f"pycount{RUN}"
    for i in range(3):
        await create_user(app, "x", display_name=f"{prefix} {i}")
    filt = f"startswith(displayName,'{prefix}')"
    _, first, _ = await list_users(app, filter=filt, count=True, eventual=True)
    assert first.odata_count == 3, f"@odata.count={first.odata_count}"
    _, first, _ = await list_users(app, filter=filt, count=True, eventual=False)
    assert first.odata_count is None, "without ConsistencyLevel $count=true is ignored"
    assert len(first.value) == 3


async def test_users_count_segment_needs_consistency_level(app: Graph):
    await expect_error(
        app.client.users.count.get(), 400, "Request_BadRequest", "$count is not currently supported.",
        what="GET /users/$count without ConsistencyLevel",
    )
    config = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    total = await app.client.users.count.get(config)
    everyone, _, _ = await list_users(app, top=999)
    assert total == len(everyone), f"/users/$count={total}, listing found {len(everyone)}"
    prefix = f"pycseg{RUN}"
    for i in range(2):
        await create_user(app, "x", display_name=f"{prefix} {i}")
    config = RequestConfiguration(
        query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters(
            filter=f"startswith(displayName,'{prefix}')"
        )
    )
    config.headers.add("ConsistencyLevel", "eventual")
    assert await app.client.users.count.get(config) == 2


# --------------------------------------------------------------------------------------------
# $batch


async def test_batch_depends_on_chain_and_424(app: Graph):
    user = await create_user(app, "pybatch")
    missing = str(uuid.uuid4())
    users = app.client.users
    r1 = BatchRequestItem(request_information=users.by_user_id(user.id).to_get_request_information(), id="1")
    r2 = BatchRequestItem(
        request_information=users.by_user_id(user.id).to_patch_request_information(User(department="Batch-2")),
        id="2", depends_on=[r1],
    )
    r3 = BatchRequestItem(request_information=users.by_user_id(missing).to_get_request_information(), id="3",
                          depends_on=[r2])
    r4 = BatchRequestItem(
        request_information=users.by_user_id(user.id).to_patch_request_information(User(department="Batch-4")),
        id="4", depends_on=[r3],
    )
    content = BatchRequestContent({"1": r1, "2": r2, "3": r3, "4": r4})
    result = await app.client.batch.post(batch_request_content=content)
    codes = result.get_response_status_codes()
    assert codes == {"1": 200, "2": 204, "3": 404, "4": 424}, codes
    # (msgraph-core 1.5.2 cannot deserialise a JSON-object batch body into a model:
    # BatchResponseItem reads `body` with get_bytes_value(); so only statuses and effects are checked.)
    got = await get_user(app, user.id, "id", "department")
    assert got.department == "Batch-2", "request 2 ran, request 4 did not"


# --------------------------------------------------------------------------------------------
# Deleted items


async def test_delete_restore_and_permanently_delete_user(app: Graph, catalog):
    sku = catalog["direct"]
    user = await create_user(app, "pydel")
    free_before = await consumed(app, sku)
    await assign(app, user.id, add=[(sku, [])])
    held = await consumed(app, sku)
    assert held == free_before + 1

    await app.client.users.by_user_id(user.id).delete()
    await expect_error(app.client.users.by_user_id(user.id).get(), 404, "Request_ResourceNotFound",
                       what="GET a deleted user")
    # GET /directory/deletedItems/graph.user (the SDK's cast); deletedDateTime is not a default
    # property of a user, so select it.
    qp = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
        select=["id", "userPrincipalName", "deletedDateTime"]
    )
    deleted_page = await app.client.directory.deleted_items.graph_user.get(RequestConfiguration(query_parameters=qp))
    deleted, _ = await all_items(app, deleted_page)
    [entry] = [d for d in deleted if d.id == user.id]
    assert isinstance(entry, User), f"deleted item without @odata.type: {type(entry)}"
    assert entry.deleted_date_time is not None and entry.user_principal_name == user.user_principal_name, entry
    item = await app.client.directory.deleted_items.by_directory_object_id(user.id).get()
    assert isinstance(item, User) and item.deleted_date_time is not None, item

    restored = await app.client.directory.deleted_items.by_directory_object_id(user.id).restore.post()
    assert isinstance(restored, User) and restored.id == user.id, restored
    back = await get_user(app, user.id, "id", "assignedLicenses", "deletedDateTime")
    assert sku in sku_ids(back), "restored with its licenses"
    assert back.deleted_date_time is None
    assert await consumed(app, sku) == held, "the restored user holds its seat"
    deleted, _ = await all_items(app, await app.client.directory.deleted_items.graph_user.get())
    assert user.id not in {d.id for d in deleted}

    await app.client.users.by_user_id(user.id).delete()
    await app.client.directory.deleted_items.by_directory_object_id(user.id).delete()
    assert await consumed(app, sku) == free_before, "after the permanent delete the seat is free"
    await expect_error(app.client.directory.deleted_items.by_directory_object_id(user.id).get(), 404,
                       "Request_ResourceNotFound", what="GET a purged deleted item")


async def test_soft_deleted_user_releases_its_seat_at_once(app: Graph, catalog):
    """skuld's decision D7 (ARCHITECTURE.md), where graph-api.md §14 leaves the choice open:
    a soft-deleted user releases its seat at once; restore takes it again; the permanent delete
    changes nothing more."""
    sku = catalog["direct"]
    user = await create_user(app, "pyseat")
    await assign(app, user.id, add=[(sku, [])])
    held = await consumed(app, sku)
    await app.client.users.by_user_id(user.id).delete()
    assert await consumed(app, sku) == held - 1, "a soft-deleted user releases its seat (D7)"
    await app.client.directory.deleted_items.by_directory_object_id(user.id).restore.post()
    assert await consumed(app, sku) == held, "the restored user takes its seat again"
    await app.client.users.by_user_id(user.id).delete()
    await app.client.directory.deleted_items.by_directory_object_id(user.id).delete()
    assert await consumed(app, sku) == held - 1, "after the permanent delete the seat stays free"


# --------------------------------------------------------------------------------------------
# Audit log


async def audits(g: Graph, activity: str) -> list[Any]:
    qp = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
        filter=f"activityDisplayName eq '{activity}'"
    )
    first = await g.client.audit_logs.directory_audits.get(RequestConfiguration(query_parameters=qp))
    items, _ = await all_items(g, first)
    assert all(a.activity_display_name == activity for a in items), {a.activity_display_name for a in items}
    return items


def targets(entries: list[Any]) -> set[str]:
    return {t.id for a in entries for t in a.target_resources or []}


async def test_audit_log_records_license_and_lifecycle_changes(app: Graph, admin: Graph, catalog):
    sku = catalog["direct"]
    user = await create_user(app, "pyaudit")
    await assign(app, user.id, add=[(sku, [])])
    by_admin = await create_user(app, "pyaudit")
    await assign(admin, by_admin.id, add=[(sku, [])])
    await app.client.users.by_user_id(user.id).delete()
    await app.client.directory.deleted_items.by_directory_object_id(user.id).restore.post()
    group = await create_group(app, "pyaudit")
    await group_assign(app, group.id, add=[catalog["group"]])

    changes = await audits(app, "Change user license")
    mine = [a for a in changes if user.id in targets([a])]
    assert mine, "no 'Change user license' entry for the assignment"
    assert mine[0].initiated_by.app is not None and mine[0].initiated_by.user is None, mine[0].initiated_by
    assert mine[0].initiated_by.app.app_id == env("SKULD_CLIENT_ID"), mine[0].initiated_by.app
    assert str(getattr(mine[0].result, "value", mine[0].result)) == "success", mine[0].result
    admins = [a for a in changes if by_admin.id in targets([a])]
    assert admins and admins[0].initiated_by.user is not None, "delegated change must name the user"
    assert admins[0].initiated_by.user.user_principal_name.lower() == env("SKULD_ADMIN_UPN").lower()
    assert user.id in targets(await audits(admin, "Add user"))
    assert user.id in targets(await audits(app, "Delete user"))
    assert user.id in targets(await audits(admin, "Restore user"))
    assert group.id in targets(await audits(app, "Set group license"))
