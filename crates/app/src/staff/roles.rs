//! Staff roles and what each may do, in one place. Handlers never check a
//! role: they ask for a permission in their signature (see
//! `web::staff::auth::Staff`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Viewer,
    Clerk,
    Supervisor,
    Finance,
    Administrator,
    Auditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Search and read payments, their timelines and receipts.
    ViewPayments,
    /// Add notes to payments.
    AddNotes,
    /// Send a receipt again.
    ResendReceipts,
    /// Ask for a refund (approved at once up to the department's threshold).
    RequestRefunds,
    /// Approve or reject someone else's refund request.
    ApproveRefunds,
    /// See daily totals and the reconciliation with the processor.
    ViewClose,
    /// Close a business date.
    CloseDay,
    /// Download payment searches, posting files and journal exports.
    Export,
    /// Add, disable and re-invite staff.
    ManageStaff,
    /// Read the audit log.
    ViewAudit,
    /// Mark a licence renewal's declaration for audit (or clear the mark).
    FlagDeclarations,
    /// Look up a resident's online account by its e-mail address and see
    /// what it holds (never its password or second-factor secret).
    ViewResidents,
    /// Help a resident who cannot sign in: turn off their two-step sign-in
    /// or end their sessions, after confirming who they are.
    HelpResidents,
}

use Permission as P;

const VIEWER: &[Permission] = &[P::ViewPayments];
const CLERK: &[Permission] = &[
    P::ViewPayments,
    P::AddNotes,
    P::ResendReceipts,
    P::ViewResidents,
    P::HelpResidents,
];
const SUPERVISOR: &[Permission] = &[
    P::ViewPayments,
    P::AddNotes,
    P::ResendReceipts,
    P::RequestRefunds,
    P::ApproveRefunds,
    P::ViewResidents,
    P::HelpResidents,
];
const FINANCE: &[Permission] = &[
    P::ViewPayments,
    P::AddNotes,
    P::ResendReceipts,
    P::RequestRefunds,
    P::ApproveRefunds,
    P::ViewClose,
    P::CloseDay,
    P::Export,
    P::FlagDeclarations,
    P::ViewResidents,
    P::HelpResidents,
];
const ADMINISTRATOR: &[Permission] = &[
    P::ViewPayments,
    P::AddNotes,
    P::ResendReceipts,
    P::RequestRefunds,
    P::ApproveRefunds,
    P::ViewClose,
    P::CloseDay,
    P::Export,
    P::ManageStaff,
    P::ViewAudit,
    P::FlagDeclarations,
    P::ViewResidents,
    P::HelpResidents,
];
/// Reads everything, changes nothing.
const AUDITOR: &[Permission] = &[
    P::ViewPayments,
    P::ViewClose,
    P::Export,
    P::ViewAudit,
    P::ViewResidents,
];

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Viewer,
        Role::Clerk,
        Role::Supervisor,
        Role::Finance,
        Role::Administrator,
        Role::Auditor,
    ];

    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Viewer => VIEWER,
            Role::Clerk => CLERK,
            Role::Supervisor => SUPERVISOR,
            Role::Finance => FINANCE,
            Role::Administrator => ADMINISTRATOR,
            Role::Auditor => AUDITOR,
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Finance => "finance",
            Role::Administrator => "administrator",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Viewer => "reads payments",
            Role::Clerk => {
                "reads payments, adds notes, resends receipts, helps residents with their online accounts"
            }
            Role::Supervisor => "clerk, plus refunds and approving others' refunds",
            Role::Finance => {
                "supervisor, plus daily close, reconciliation, exports and marking licence declarations for audit"
            }
            Role::Administrator => {
                "everything, including staff accounts; never approves their own requests"
            }
            Role::Auditor => "reads everything, including the audit log; changes nothing",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_change_nothing() {
        for p in Role::Auditor.permissions() {
            assert!(
                matches!(
                    p,
                    P::ViewPayments | P::ViewClose | P::Export | P::ViewAudit | P::ViewResidents
                ),
                "{p:?}"
            );
        }
        assert!(!Role::Auditor.can(P::HelpResidents));
    }

    #[test]
    fn roles_round_trip_and_grow() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for p in CLERK {
            assert!(Role::Supervisor.can(*p));
        }
        for p in SUPERVISOR {
            assert!(Role::Finance.can(*p));
        }
        assert!(!Role::Viewer.can(P::AddNotes));
        assert!(!Role::Clerk.can(P::RequestRefunds));
        assert!(!Role::Finance.can(P::ManageStaff));
    }
}
