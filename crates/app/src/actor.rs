//! Who acts, and which roles may take which steps. Which problems an actor may take them on is
//! its scope ([`crate::scope`]).

use std::net::IpAddr;

use civmap_domain::{Action, Role, UserId};

use crate::error::ServiceError;

/// Who is calling: an account signed in with a session or an API token, the holder of a
/// static API token from the configuration, the system (automatic steps), or an anonymous
/// caller acting with the configured `anonymous_role` (`public` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user recorded in the event log; `None` for anonymous callers, static tokens and
    /// the system.
    pub user: Option<UserId>,
    pub role: Role,
    /// Whether credentials were presented and accepted.
    pub authenticated: bool,
    /// The peer address, when known (the rate limiter's key).
    pub ip: Option<IpAddr>,
    /// The name of the static configuration token acting (`[[api_tokens]]`), if one is: the
    /// identity of a token that acts for no account (four eyes compare identities).
    pub token: Option<String>,
}

impl Actor {
    /// Who this is, for rules that need two different people (four eyes): the account when
    /// there is one, else the static token's name; `None` for the system and anonymous callers.
    #[must_use]
    pub fn identity(&self) -> Option<String> {
        match (&self.user, &self.token) {
            (Some(u), _) => Some(format!("user:{u}")),
            (None, Some(t)) => Some(format!("token:{t}")),
            (None, None) => None,
        }
    }

    /// The actor of automatic steps (dispatch, escalation): sees everything, recorded as
    /// nobody.
    #[must_use]
    pub fn system() -> Actor {
        Actor {
            user: None,
            role: Role::Admin,
            authenticated: true,
            ip: None,
            token: None,
        }
    }

    /// `Ok` if this actor's role is one of `roles`; otherwise `Unauthorized` for anonymous
    /// callers, `Forbidden` for authenticated ones. `what` completes "... may not {what}".
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ServiceError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        if self.authenticated {
            Err(ServiceError::Forbidden(format!(
                "role {} may not {what}",
                self.role
            )))
        } else {
            Err(ServiceError::Unauthorized(format!(
                "sign in (POST /api/v1/login, or Authorization: Bearer <token>) to {what}"
            )))
        }
    }

    /// Whether this caller sees the public map only: the public and reporters (who see their
    /// reports on the public map). Such callers never see personal data (reporter, assignee,
    /// actors, notes, photos) and see indoor problems generalised to a 50 m cell.
    #[must_use]
    pub fn is_public(&self) -> bool {
        matches!(self.role, Role::Public | Role::Reporter)
    }

    /// Whether this caller is staff (sees personal data within its scope).
    #[must_use]
    pub fn is_staff(&self) -> bool {
        !self.is_public()
    }

    /// Whether this caller's writes are rate limited (anonymous callers' are).
    #[must_use]
    pub fn rate_limited(&self) -> bool {
        !self.authenticated
    }
}

/// Roles that may manage zones, points of interest, categories and assignments.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::StreetOffice];

/// The street office and the administrator: who decides what the public reads of a
/// description ([`crate::moderation`]).
pub const OFFICE: &[Role] = &[Role::Admin, Role::StreetOffice];

/// Staff: every role that works on problems (everyone but reporters and the public).
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::StreetOffice,
    Role::AreaChief,
    Role::RoadChief,
    Role::PointChief,
];

/// Roles that may edit a problem's fields.
pub const EDITORS: &[Role] = &[Role::Admin, Role::StreetOffice, Role::AreaChief];

/// Roles allowed to perform `action`. Which problems they may perform it on is their scope
/// ([`crate::App::scope`]): a chief's zones, a street office's street.
#[must_use]
pub fn roles_for(action: Action) -> &'static [Role] {
    use Role::{Admin, AreaChief, StreetOffice};
    match action {
        Action::Dispatch | Action::Merge | Action::Verify | Action::Reject => {
            &[Admin, StreetOffice, AreaChief]
        }
        Action::Escalate | Action::Rectify | Action::Recur => STAFF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, authenticated: bool) -> Actor {
        Actor {
            user: None,
            role,
            authenticated,
            ip: None,
            token: None,
        }
    }

    #[test]
    fn every_action_allowed_and_refused_per_role() {
        let all = [
            Role::Admin,
            Role::StreetOffice,
            Role::AreaChief,
            Role::RoadChief,
            Role::PointChief,
            Role::Reporter,
            Role::Public,
        ];
        let actions = [
            Action::Dispatch,
            Action::Escalate,
            Action::Rectify,
            Action::Reject,
            Action::Verify,
            Action::Recur,
            Action::Merge,
        ];
        for action in actions {
            for role in all {
                let expect = match action {
                    Action::Dispatch | Action::Merge | Action::Verify | Action::Reject => {
                        matches!(role, Role::Admin | Role::StreetOffice | Role::AreaChief)
                    }
                    Action::Escalate | Action::Rectify | Action::Recur => {
                        !matches!(role, Role::Reporter | Role::Public)
                    }
                };
                let got = actor(role, true).require(roles_for(action), "x");
                assert_eq!(got.is_ok(), expect, "{role} {action}");
                if !expect {
                    assert!(
                        matches!(got, Err(ServiceError::Forbidden(_))),
                        "{role} {action}"
                    );
                    // The same step without credentials asks to sign in instead.
                    assert!(matches!(
                        actor(role, false).require(roles_for(action), "x"),
                        Err(ServiceError::Unauthorized(_))
                    ));
                }
            }
        }
    }

    #[test]
    fn public_and_staff() {
        assert!(actor(Role::Reporter, true).is_public());
        assert!(actor(Role::Public, false).is_public());
        assert!(actor(Role::PointChief, true).is_staff());
        assert!(Actor::system().is_staff() && Actor::system().user.is_none());
    }
}
