//! Tokens (graph-api.md §10): the token endpoint (`client_credentials` for registered apps,
//! `password` for users), ES256-signed JWTs with Graph's claims, the JWKS and OpenID discovery
//! documents, and the [`Caller`] extractor that turns a bearer token into an [`Actor`] of one
//! tenant. Password sign-ins go through smart lockout (`app`), users who must change their
//! password are refused with AADSTS50055 and change it at `POST /{tenant}/oauth2/v2.0/changepassword`
//! or, signed in, with Graph's `changePassword`.

use crate::error::GraphError;
use crate::state::GraphState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use skuld_app::{Actor, App, SignIn};
use skuld_domain::{Tenant, UserId};
use std::collections::HashMap;

/// Graph's resource: the audience of every token.
pub const AUDIENCE: &str = "https://graph.microsoft.com";
pub const AUDIENCE_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Lifetime of an access token, as Entra issues them.
pub const TOKEN_SECONDS: i64 = 3599;

/// The longest lifetime a token may claim (`exp - nbf`): Entra's tokens live 60 to 90
/// minutes; a token that claims more was not issued by skuld.
pub const MAX_TOKEN_SECONDS: i64 = 24 * 3600;
/// How far the clocks of two servers may differ when checking `nbf`.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// The environment variable that holds the key-encryption key (base64 of 32 bytes), shared by
/// every server of one PostgreSQL database.
pub const KEY_ENV: &str = "SKULD_KEY_ENCRYPTION_KEY";
/// The key-encryption key file in the data directory, used when [`KEY_ENV`] is not set.
pub const KEY_FILE: &str = "skuld-key-encryption.key";
const SEALED_PREFIX: &str = "aes256gcm:v1:";

/// The key that seals the signing key in the database (AES-256-GCM), kept outside it.
pub struct SealingKey {
    key: ring::aead::LessSafeKey,
}

impl SealingKey {
    pub fn from_bytes(raw: &[u8]) -> anyhow::Result<SealingKey> {
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, raw)
            .map_err(|_| anyhow::anyhow!("a key-encryption key is 32 bytes (base64 encoded)"))?;
        Ok(SealingKey {
            key: ring::aead::LessSafeKey::new(unbound),
        })
    }

    fn from_base64(text: &str) -> anyhow::Result<SealingKey> {
        let raw = STANDARD
            .decode(text.trim())
            .map_err(|_| anyhow::anyhow!("a key-encryption key is 32 bytes, base64 encoded"))?;
        Self::from_bytes(&raw)
    }

    /// [`KEY_ENV`] if set, else the key file in `data_dir`, created (mode 0600) with a fresh
    /// random key on first start.
    pub fn from_env_or_file(data_dir: &std::path::Path) -> anyhow::Result<SealingKey> {
        if let Ok(v) = std::env::var(KEY_ENV) {
            return Self::from_base64(&v).map_err(|e| anyhow::anyhow!("{KEY_ENV}: {e}"));
        }
        let path = data_dir.join(KEY_FILE);
        if !path.exists() {
            let mut raw = [0u8; 32];
            ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut raw)
                .map_err(|_| anyhow::anyhow!("cannot generate a key-encryption key"))?;
            std::fs::create_dir_all(data_dir)?;
            crate::serve::write_private(&path, format!("{}\n", STANDARD.encode(raw)).as_bytes())?;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Self::from_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Seals `plain`, bound to `kid`.
    pub fn seal(&self, kid: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut nonce).expect("random nonce");
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM sealing");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens what [`Self::seal`] made; `None` if `stored` is not sealed (an older version's
    /// plain form).
    pub fn open(&self, kid: &str, stored: &str) -> Option<anyhow::Result<Vec<u8>>> {
        let body = stored.strip_prefix(SEALED_PREFIX)?;
        Some((|| {
            let raw = STANDARD.decode(body)?;
            anyhow::ensure!(raw.len() > 12 + 16, "the sealed signing key is truncated");
            let (nonce, ct) = raw.split_at(12);
            let mut buf = ct.to_vec();
            let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce)
                .map_err(|_| anyhow::anyhow!("bad nonce"))?;
            let plain = self
                .key
                .open_in_place(nonce, ring::aead::Aad::from(kid.as_bytes()), &mut buf)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the token signing key in the database cannot be decrypted with this key-encryption key (every server of one database needs the same {KEY_ENV} or {KEY_FILE})"
                    )
                })?;
            Ok(plain.to_vec())
        })())
    }
}

/// The installation's signing key (P-256), kept in the database (sealed) so tokens outlive
/// restarts.
pub struct Keys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
}

impl Keys {
    /// Loads the signing key from the store, creating it on first start (every server that
    /// starts at once settles on the same key). A key stored in plain form by an older version
    /// is sealed now.
    pub async fn load_or_create(app: &App, sealing: &SealingKey) -> anyhow::Result<Keys> {
        let rng = SystemRandom::new();
        let fresh = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("cannot generate a signing key"))?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let sealed = sealing.seal(&kid, fresh.as_ref());
        let (kid, stored) = app
            .ensure_signing_key(&kid, &sealed, skuld_app::now())
            .await?;
        let der = match sealing.open(&kid, &stored) {
            Some(der) => der?,
            None => {
                let der = STANDARD.decode(&stored)?;
                let resealed = sealing.seal(&kid, &der);
                if !app.reseal_signing_key(&kid, &stored, &resealed).await? {
                    // Another server sealed it first (with the same key, or opening fails).
                    let (k, s) = app
                        .ensure_signing_key(&kid, &resealed, skuld_app::now())
                        .await?;
                    if let Some(r) = sealing.open(&k, &s) {
                        r?;
                    }
                }
                der
            }
        };
        Self::from_pkcs8(kid, &der)
    }

    pub fn from_pkcs8(kid: String, der: &[u8]) -> anyhow::Result<Keys> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| anyhow::anyhow!("bad signing key: {e}"))?;
        let public = pair.public_key().as_ref();
        anyhow::ensure!(public.len() == 65 && public[0] == 4, "unexpected key shape");
        let x = URL_SAFE_NO_PAD.encode(&public[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&public[33..65]);
        Ok(Keys {
            kid,
            encoding: EncodingKey::from_ec_der(der),
            decoding: DecodingKey::from_ec_components(&x, &y)?,
            x,
            y,
        })
    }

    /// A fresh in-memory key (router tests).
    pub fn generate() -> Keys {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("key generation");
        Self::from_pkcs8("test".into(), der.as_ref()).expect("fresh key")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        h.typ = Some("JWT".into());
        jsonwebtoken::encode(&h, claims, &self.encoding).expect("ES256 signing")
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
            "kid": self.kid, "x": self.x, "y": self.y,
        }]})
    }

    /// Verifies a bearer token, answering Graph's 401 texts (graph-api.md §8).
    pub fn verify(&self, token: &str) -> Result<Claims, GraphError> {
        if token.is_empty() {
            return Err(GraphError::unauthorized("Access token is empty."));
        }
        if !token.contains('.') {
            return Err(GraphError::unauthorized(
                "IDX14100: JWT is not well formed, there are no dots (.).",
            ));
        }
        let mut v = Validation::new(Algorithm::ES256);
        v.set_audience(&[AUDIENCE, AUDIENCE_ID]);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "aud", "tid"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    GraphError::unauthorized("Lifetime validation failed, the token is expired.")
                }
                _ => GraphError::unauthorized("Access token validation failure. Invalid audience."),
            })?;
        // Issuer, not-before and lifetime (issue 7 item 15): a token signed by this key but not
        // shaped as skuld issues them is refused too.
        if claims.iss != format!("https://sts.windows.net/{}/", claims.tid) {
            return Err(GraphError::unauthorized(
                "Access token validation failure. Invalid issuer.",
            ));
        }
        let now = epoch();
        if claims.nbf > now + CLOCK_SKEW_SECONDS || claims.iat > now + CLOCK_SKEW_SECONDS {
            return Err(GraphError::unauthorized(
                "Lifetime validation failed, the token is not yet valid.",
            ));
        }
        if claims.exp - claims.nbf.min(claims.iat) > MAX_TOKEN_SECONDS {
            return Err(GraphError::unauthorized(
                "Lifetime validation failed, the token lifetime is longer than allowed.",
            ));
        }
        Ok(claims)
    }
}

/// The claims of a skuld access token (Graph v1.0 access token shape, §10.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub appid: String,
    pub ver: String,
    pub idtyp: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn epoch() -> i64 {
    skuld_app::now().0 / 1000
}

impl Claims {
    /// An app-only token for a registered application.
    pub fn for_app(tenant: &Tenant, app: &skuld_store::AppRow) -> Claims {
        let now = epoch();
        Claims {
            aud: AUDIENCE.into(),
            iss: format!("https://sts.windows.net/{}/", tenant.id),
            iat: now,
            nbf: now,
            exp: now + TOKEN_SECONDS,
            tid: tenant.id.to_string(),
            oid: app.object_id.to_string(),
            sub: app.object_id.to_string(),
            appid: app.app_id.to_string(),
            ver: "1.0".into(),
            idtyp: "app".into(),
            roles: app.permissions.clone(),
            scp: None,
            wids: vec![],
            upn: None,
            name: None,
        }
    }

    /// A delegated token for a signed-in user.
    pub fn for_user(
        tenant: &Tenant,
        user: &skuld_domain::User,
        roles: &[skuld_domain::DirectoryRole],
        client_id: &str,
        scopes: &str,
    ) -> Claims {
        let now = epoch();
        Claims {
            aud: AUDIENCE.into(),
            iss: format!("https://sts.windows.net/{}/", tenant.id),
            iat: now,
            nbf: now,
            exp: now + TOKEN_SECONDS,
            tid: tenant.id.to_string(),
            oid: user.id.to_string(),
            sub: user.id.to_string(),
            appid: client_id.to_string(),
            ver: "1.0".into(),
            idtyp: "user".into(),
            roles: vec![],
            scp: Some(scopes.to_string()),
            wids: roles.iter().map(|r| r.template_id().to_string()).collect(),
            upn: Some(user.upn.clone()),
            name: Some(user.display_name.clone()),
        }
    }
}

/// The authenticated caller of a Graph request: its tenant and who it acts as.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Tenant,
    pub actor: Actor,
    /// The throttling key: the app id of the token (apps and users of one client share it).
    pub client: String,
    /// The signed-in user of a delegated token (throttled per user as well, whatever the
    /// client id they asked a token for).
    pub user: Option<String>,
}

impl FromRequestParts<GraphState> for Caller {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GraphState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let token = bearer(&parts.headers);
        let claims = state.keys.verify(token)?;
        let caller = resolve(&state.app, &claims).await?;
        let tid = caller.tenant.id.to_string();
        if state.throttle.limits.enabled && state.throttle.tenant_size(&tid).is_none() {
            let n = state.app.user_count(&caller.tenant).await?;
            state.throttle.set_tenant_size(&tid, n);
        }
        let cost =
            state
                .throttle
                .charge(&caller, &parts.method, parts.uri.path(), parts.uri.query())?;
        if let Some(slot) = parts.extensions.get::<crate::ResourceUnits>() {
            slot.0.store(cost, std::sync::atomic::Ordering::Relaxed);
        }
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            match v.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                // `Bearer` alone: what fetch sends for an empty token (the space is trimmed).
                None if v.eq_ignore_ascii_case("bearer") => "",
                _ => v,
            }
        })
        .unwrap_or("")
}

async fn resolve(app: &App, claims: &Claims) -> Result<Caller, GraphError> {
    let invalid = || GraphError::unauthorized("Access token validation failure. Invalid audience.");
    let tid = skuld_domain::TenantId::parse(&claims.tid).map_err(|_| invalid())?;
    let tenant = app.tenant_by_id(tid).await?.ok_or_else(invalid)?;
    let actor = if claims.idtyp == "app" {
        let id = uuid::Uuid::parse_str(&claims.appid).map_err(|_| invalid())?;
        app.app_actor(&tenant, id).await?
    } else {
        let id = UserId::parse(&claims.oid).map_err(|_| invalid())?;
        let scopes = claims
            .scp
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        app.user_actor(&tenant, id, scopes).await?
    };
    let actor = actor.ok_or_else(|| {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure. The principal of the token no longer exists.",
        )
    })?;
    let user = matches!(actor, Actor::User { .. }).then(|| claims.oid.clone());
    Ok(Caller {
        tenant,
        actor,
        client: claims.appid.clone(),
        user,
    })
}

// ---- token endpoint ------------------------------------------------------------------------

/// An OAuth error response in Entra's shape (graph-api.md §10.1).
fn oauth_error(error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4().to_string();
    let corr = uuid::Uuid::new_v4().to_string();
    let now = time::OffsetDateTime::now_utc();
    let ts = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
        })),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` (form encoded).
pub async fn token(
    State(state): State<GraphState>,
    Path(tenant_key): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let source = source_address(&req);
    let headers = req.headers().clone();
    let Ok(body) = axum::body::to_bytes(req.into_body(), FORM_LIMIT).await else {
        return oauth_error("invalid_request", 900144, "The request body is too large.");
    };
    let form: HashMap<String, String> = match serde_urlencoded_pairs(&body) {
        Some(f) => f,
        None => {
            return oauth_error(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        }
    };
    let tenant = match state.app.find_tenant(&tenant_key).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return oauth_error("invalid_request", 90002, &format!("Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."))
        }
        Err(e) => return GraphError::from(e).into_response(),
    };
    let (mut client_id, mut secret) = (
        form.get("client_id").cloned().unwrap_or_default(),
        form.get("client_secret").cloned(),
    );
    if let Some((id, s)) = basic_auth(&headers) {
        client_id = id;
        secret = Some(s);
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    if client_id.is_empty() {
        return oauth_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    }
    match grant {
        "client_credentials" => {
            if !scope.split_whitespace().any(|s| s.ends_with("/.default")) {
                return oauth_error("invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."));
            }
            let Some(secret) = secret else {
                return oauth_error("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
            };
            match state.app.authenticate_app(&tenant, &client_id, &secret).await {
                Ok(Some(app)) => {
                    let claims = Claims::for_app(&tenant, &app);
                    Json(serde_json::json!({
                        "token_type": "Bearer",
                        "expires_in": TOKEN_SECONDS,
                        "ext_expires_in": TOKEN_SECONDS,
                        "access_token": state.keys.sign(&claims),
                    }))
                    .into_response()
                }
                Ok(None) => oauth_error("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.".replace("{client_id}", &client_id).as_str()),
                Err(e) => GraphError::from(e).into_response(),
            }
        }
        "password" => {
            let (Some(user), Some(pw)) = (form.get("username"), form.get("password")) else {
                return oauth_error(
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'username' and 'password'.",
                );
            };
            let scp = match delegated_scopes(&scope) {
                Ok(s) => s,
                Err(bad) => return oauth_error("invalid_scope", 70011, &format!("The provided value for the input parameter 'scope' is not valid. The scope {bad} is not valid.")),
            };
            let at = state.clock.now();
            match state
                .app
                .authenticate_user(&tenant, user, pw, &source, at)
                .await
            {
                Ok(SignIn::Ok(u, roles)) => {
                    let claims = Claims::for_user(&tenant, &u, &roles, &client_id, &scp);
                    Json(serde_json::json!({
                        "token_type": "Bearer",
                        "scope": scp,
                        "expires_in": TOKEN_SECONDS,
                        "ext_expires_in": TOKEN_SECONDS,
                        "access_token": state.keys.sign(&claims),
                    }))
                    .into_response()
                }
                Ok(refused) => sign_in_refused(&refused),
                Err(e) => GraphError::from(e).into_response(),
            }
        }
        "" => oauth_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ),
        other => oauth_error(
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

/// Entra's answer to a refused password sign-in.
fn sign_in_refused(r: &SignIn) -> Response {
    match r {
        SignIn::Locked => oauth_error(
            "invalid_grant",
            50053,
            "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
        ),
        SignIn::MustChange => oauth_error("invalid_grant", 50055, "The password is expired."),
        _ => oauth_error(
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
    }
}

/// The largest form body the token endpoints read.
const FORM_LIMIT: usize = 64 * 1024;

/// The caller's address for smart lockout: the connection's peer (axum's `ConnectInfo`, which
/// `serve` provides), or '' when there is none (requests driven without a socket, as the
/// router tests do): then failures are counted per user name alone. Forwarded-for headers are
/// not trusted, since any caller can set them.
fn source_address(req: &axum::extract::Request) -> String {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// The delegated scopes of a user token (`scp`), or the first scope skuld does not know
/// (AADSTS70011). Graph scopes may carry the resource prefix; OpenID scopes are not Graph's
/// and are dropped. `.default` (and asking for no Graph scope at all) grants
/// `Directory.AccessAsUser.All`: skuld has no consent records, so a token for `.default` may
/// do everything the user's directory roles allow — which is what an admin-consented
/// first-party client such as the Graph PowerShell SDK gets.
fn delegated_scopes(scope: &str) -> Result<String, String> {
    let mut out: Vec<&'static str> = Vec::new();
    for raw in scope.split_whitespace() {
        let s = raw
            .strip_prefix("https://graph.microsoft.com/")
            .or_else(|| raw.strip_prefix("00000003-0000-0000-c000-000000000000/"))
            .unwrap_or(raw);
        if ["openid", "profile", "offline_access", "email"]
            .iter()
            .any(|o| o.eq_ignore_ascii_case(s))
        {
            continue;
        }
        let known = if s == ".default" {
            skuld_app::FULL_DELEGATION
        } else {
            skuld_app::canonical_scope(s).ok_or_else(|| raw.to_string())?
        };
        if !out.contains(&known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        out.push(skuld_app::FULL_DELEGATION);
    }
    Ok(out.join(" "))
}

/// `POST /{tenant}/oauth2/v2.0/changepassword` (form encoded: `username`, `password`,
/// `new_password`): a user whose password must be changed cannot get a token, so this form
/// beside the token endpoint changes it (what Entra's sign-in page does interactively). The
/// current password is checked under smart lockout; 204 on success, else Entra's errors.
pub async fn change_password_form(
    State(state): State<GraphState>,
    Path(tenant_key): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let source = source_address(&req);
    let Ok(body) = axum::body::to_bytes(req.into_body(), FORM_LIMIT).await else {
        return oauth_error("invalid_request", 900144, "The request body is too large.");
    };
    let form = serde_urlencoded_pairs(&body).unwrap_or_default();
    let tenant = match state.app.find_tenant(&tenant_key).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return oauth_error("invalid_request", 90002, &format!("Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."))
        }
        Err(e) => return GraphError::from(e).into_response(),
    };
    let (Some(user), Some(pw), Some(new)) = (
        form.get("username"),
        form.get("password"),
        form.get("new_password"),
    ) else {
        return oauth_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'username', 'password' and 'new_password'.",
        );
    };
    let at = state.clock.now();
    match state
        .app
        .change_password(&tenant, user, pw, new, &source, at)
        .await
    {
        Ok(SignIn::Ok(..)) => StatusCode::NO_CONTENT.into_response(),
        Ok(refused) => sign_in_refused(&refused),
        Err(skuld_app::AppError::BadRequest(m)) => oauth_error("invalid_request", 90014, &m),
        Err(e) => GraphError::from(e).into_response(),
    }
}

/// `POST /v1.0/me/changePassword`.
pub async fn change_my_password(
    State(state): State<GraphState>,
    caller: Caller,
    body: crate::body::JsonBody,
) -> Result<Response, GraphError> {
    let Actor::User { upn, .. } = &caller.actor else {
        return Err(GraphError::bad_request(
            "/me request is only valid with delegated authentication flow.",
        ));
    };
    let upn = upn.clone();
    change_password_of(&state, &caller, &upn, body).await
}

/// `POST /v1.0/users/{id|upn}/changePassword`: only for the signed-in user themself.
pub async fn change_user_password(
    State(state): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
    body: crate::body::JsonBody,
) -> Result<Response, GraphError> {
    let Actor::User { id, upn, .. } = &caller.actor else {
        return Err(password_denied());
    };
    let key = crate::routes::users::user_key(&key);
    if !(key.eq_ignore_ascii_case(&id.to_string()) || key.eq_ignore_ascii_case(upn)) {
        return Err(password_denied());
    }
    let upn = upn.clone();
    change_password_of(&state, &caller, &upn, body).await
}

fn password_denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Access to change password operation is denied.",
    )
}

async fn change_password_of(
    state: &GraphState,
    caller: &Caller,
    upn: &str,
    body: crate::body::JsonBody,
) -> Result<Response, GraphError> {
    crate::routes::deny_unless(caller, skuld_app::Action::ChangeOwnPassword)?;
    let p = crate::body::Props::new(&body.0, "User", &["currentPassword", "newPassword"], &[])?;
    let current = p.required_string("currentPassword")?;
    let new = p.required_string("newPassword")?;
    let at = state.clock.now();
    // Signed in over Graph: the token is the proof of presence, the source is the user.
    match state
        .app
        .change_password(&caller.tenant, upn, &current, &new, "graph", at)
        .await?
    {
        SignIn::Ok(..) => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(password_denied()),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(rest.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    let dec = |x: &str| {
        percent_encoding::percent_decode_str(x)
            .decode_utf8()
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| x.to_string())
    };
    Some((dec(id), dec(secret)))
}

/// Parses an `application/x-www-form-urlencoded` body.
fn serde_urlencoded_pairs(body: &[u8]) -> Option<HashMap<String, String>> {
    let s = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |x: &str| {
            percent_encoding::percent_decode_str(&x.replace('+', " "))
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        };
        out.insert(dec(k)?, dec(v)?);
    }
    Some(out)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    State(state): State<GraphState>,
    Path(tenant_key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tenant = match state.app.find_tenant(&tenant_key).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return oauth_error(
                "invalid_tenant",
                90002,
                &format!("Tenant '{tenant_key}' not found."),
            )
        }
        Err(e) => return GraphError::from(e).into_response(),
    };
    let base = state.base_url(&headers);
    let t = tenant.id;
    Json(serde_json::json!({
        "issuer": format!("https://sts.windows.net/{t}/"),
        "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{t}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "grant_types_supported": ["client_credentials", "password"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["https://graph.microsoft.com/.default", "openid", "profile", "offline_access"],
        "claims_supported": ["aud", "iss", "iat", "nbf", "exp", "tid", "oid", "sub", "appid", "roles", "scp", "wids", "upn", "name", "idtyp", "ver"],
        "tenant_region_scope": "WW",
    }))
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys` and `/common/discovery/v2.0/keys`.
pub async fn jwks(State(state): State<GraphState>) -> Response {
    Json(state.keys.jwks()).into_response()
}
