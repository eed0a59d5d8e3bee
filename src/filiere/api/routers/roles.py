"""Who may reach what: the role sets every router of this area uses."""

from __future__ import annotations

from fastapi import Depends

from filiere.api.deps import require_roles

#: read alerts, cases, parties, transactions, traces (personal data: each view is audited)
READ = Depends(require_roles("analyst", "supervisor", "auditor"))
#: triage alerts, work cases
WRITE = Depends(require_roles("analyst", "supervisor"))
#: read the audit log
AUDIT = Depends(require_roles("supervisor", "auditor", "admin"))
#: verify the audit chain
AUDIT_VERIFY = Depends(require_roles("auditor", "admin"))
#: users and tokens
ADMIN = Depends(require_roles("admin"))
#: feeds pushing alerts
MACHINE = Depends(require_roles("machine"))
