//! Who uses the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// A user's role; see the role table in `DOMAIN.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users, categories, zones and settings.
    Admin,
    /// Street office staff (街道): the whole street; dispatch, verify, plan routes.
    StreetOffice,
    /// Area-chief (片长/块长): owns areas; verifies what its road- and point-chiefs rectified.
    AreaChief,
    /// Road-chief (路长): owns road segments.
    RoadChief,
    /// Point-chief (点长): owns fixed points such as a school gate.
    PointChief,
    /// Grid worker, volunteer, property staff (网格员, 志愿者, 物业): reports problems.
    Reporter,
    /// Anyone without a login: the read-only public map.
    Public,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::StreetOffice,
        Role::AreaChief,
        Role::RoadChief,
        Role::PointChief,
        Role::Reporter,
        Role::Public,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::StreetOffice => "street_office",
            Role::AreaChief => "area_chief",
            Role::RoadChief => "road_chief",
            Role::PointChief => "point_chief",
            Role::Reporter => "reporter",
            Role::Public => "public",
        }
    }

    /// Chiefs see and work problems inside their assigned zones only.
    #[must_use]
    pub fn is_chief(self) -> bool {
        matches!(self, Role::AreaChief | Role::RoadChief | Role::PointChief)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "role",
                value: s.to_owned(),
                allowed: Role::ALL.map(Role::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        let e = "chief".parse::<Role>().unwrap_err();
        assert_eq!(e.field(), "role");
        assert!(e.to_string().contains("road_chief"));
    }
}
