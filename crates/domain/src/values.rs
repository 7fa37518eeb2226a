//! Validated values ("parse, don't validate"): a value of these types is known to be well formed,
//! so code past the edge never checks again.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a raw value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("'{0}' is not an ISO 3166-1 alpha-2 country code")]
    UsageLocation(String),
    #[error("'{0}' is not a valid user principal name: {1}")]
    Upn(String, &'static str),
    #[error("the password does not comply with password complexity requirements: {0}")]
    Password(&'static str),
}

/// ISO 3166-1 alpha-2 codes, officially assigned.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A two-letter country code (Graph `usageLocation`), stored upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UsageLocation([u8; 2]);

impl UsageLocation {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        let up = t.to_ascii_uppercase();
        // The table is sorted with a stride of three bytes ("AD AE …"): binary search.
        let table = ISO_3166_ALPHA2.as_bytes();
        let n = table.len().div_ceil(3);
        let found = up.len() == 2 && up.is_ascii() && {
            let (mut lo, mut hi) = (0, n);
            let mut hit = false;
            while lo < hi {
                let mid = (lo + hi) / 2;
                match table[mid * 3..mid * 3 + 2].cmp(up.as_bytes()) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => {
                        hit = true;
                        break;
                    }
                }
            }
            hit
        };
        if found {
            let b = up.as_bytes();
            Ok(Self([b[0], b[1]]))
        } else {
            Err(ValueError::UsageLocation(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for UsageLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl TryFrom<String> for UsageLocation {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<UsageLocation> for String {
    fn from(u: UsageLocation) -> String {
        u.as_str().to_string()
    }
}

/// A user principal name `alias@domain`, with Entra's character and length rules (rulebook §8.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Upn(String);

impl Upn {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let t = s.trim();
        let err = |why| Err(ValueError::Upn(s.to_string(), why));
        let Some((alias, domain)) = t.rsplit_once('@') else {
            return err("it needs the form alias@domain");
        };
        if alias.is_empty() || domain.is_empty() {
            return err("it needs the form alias@domain");
        }
        if t.chars().count() > 113 {
            return err("it is longer than 113 characters");
        }
        if alias.chars().count() > 64 {
            return err("the part before @ is longer than 64 characters");
        }
        if domain.chars().count() > 48 {
            return err("the domain is longer than 48 characters");
        }
        if alias.ends_with('.') || alias.starts_with('.') {
            return err("the part before @ may not start or end with a dot");
        }
        // Guest UPNs carry `#EXT#`, so `#` is allowed as in Entra.
        let ok_alias = |c: char| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c);
        if !alias.chars().all(ok_alias) {
            return err("only letters, digits and ' . - _ ! # ^ ~ are allowed before @");
        }
        let ok_domain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if !domain.chars().all(ok_domain) || !domain.contains('.') {
            return err("the domain is not a valid domain name");
        }
        Ok(Self(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn alias(&self) -> &str {
        self.0.rsplit_once('@').map(|(a, _)| a).unwrap_or(&self.0)
    }
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
    /// UPNs are unique case-insensitively.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for Upn {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Upn> for String {
    fn from(u: Upn) -> String {
        u.0
    }
}

/// A clear-text password that satisfies Entra's complexity policy (rulebook §8.2): 8–256
/// characters from the allowed set, three of the four character classes. It is only ever hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const SYMBOLS: &'static str = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ";

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let n = s.chars().count();
        if !(8..=256).contains(&n) {
            return Err(ValueError::Password("it must be 8 to 256 characters long"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || Self::SYMBOLS.contains(c))
        {
            return Err(ValueError::Password(
                "it contains a character that is not allowed",
            ));
        }
        let classes = [
            s.chars().any(|c| c.is_ascii_lowercase()),
            s.chars().any(|c| c.is_ascii_uppercase()),
            s.chars().any(|c| c.is_ascii_digit()),
            s.chars().any(|c| Self::SYMBOLS.contains(c)),
        ];
        if classes.iter().filter(|b| **b).count() < 3 {
            return Err(ValueError::Password(
                "it needs three of: lower case, upper case, digits, symbols",
            ));
        }
        Ok(Self(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Milliseconds since the Unix epoch, UTC. The domain takes time as an input (`Engine::now`), it
/// never reads a clock.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const DAY_MS: i64 = 86_400_000;

    pub fn millis(&self) -> i64 {
        self.0
    }
    pub fn plus_days(&self, days: i64) -> Self {
        Self(self.0 + days * Self::DAY_MS)
    }
    fn odt(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
    /// Graph's directory-object spelling: second precision with `Z`.
    pub fn to_rfc3339(&self) -> String {
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        self.odt().format(&fmt).unwrap_or_default()
    }
    /// Date only, for tables.
    pub fn date(&self) -> String {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        self.odt().format(&fmt).unwrap_or_default()
    }
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let odt =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        Some(Self((odt.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_location_is_iso_alpha2_upper_case() {
        assert_eq!(UsageLocation::parse("us").unwrap().as_str(), "US");
        assert!(UsageLocation::parse("XX").is_err());
        for code in ISO_3166_ALPHA2.split(' ') {
            assert_eq!(UsageLocation::parse(code).unwrap().as_str(), code);
        }
        assert!(UsageLocation::parse("AA").is_err());
        assert!(UsageLocation::parse("ZZ").is_err());
        assert!(UsageLocation::parse("USA").is_err());
        assert!(UsageLocation::parse("").is_err());
    }

    #[test]
    fn upn_rules_follow_entra() {
        assert!(Upn::parse("adele.vance@contoso.test").is_ok());
        assert!(Upn::parse("a_contoso.com#EXT#@fabrikam.test").is_ok());
        assert!(Upn::parse("no-at-sign").is_err());
        assert!(Upn::parse("dot.@contoso.test").is_err());
        assert!(Upn::parse("sp ace@contoso.test").is_err());
        assert!(Upn::parse(&format!("{}@contoso.test", "a".repeat(65))).is_err());
        assert_eq!(Upn::parse("A@B.test").unwrap().key(), "a@b.test");
    }

    #[test]
    fn password_complexity_needs_three_classes() {
        assert!(Password::parse("xWwvJ]6NMw+bWH-d").is_ok());
        assert!(Password::parse("short1A").is_err());
        assert!(Password::parse("alllowercase").is_err());
        assert!(Password::parse("lower1234").is_err());
        assert!(Password::parse("Lower1234").is_ok());
        assert!(Password::parse("Ünicode123a").is_err());
    }

    #[test]
    fn timestamps_render_like_graph() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        let t = Timestamp::parse_rfc3339("2021-09-21T07:09:14Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2021-09-21T07:09:14Z");
        assert_eq!(t.plus_days(1).date(), "2021-09-22");
    }
}
