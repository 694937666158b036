"""The one policy: `can(principal, action, obj)` and `visible(principal, queryset)`. Default deny.

Every view, API, download, worker dispatch, admin page, count and export asks here. A
denial of an existing object must look exactly like absence (see `interlock.core.errors.NotFound`).
"""

from interlock.access.actions import Action, Decision
from interlock.access.policy import NETWORK, can, registrations, sees, visible
from interlock.access.principal import Principal, Via

__all__ = ["NETWORK", "Action", "Decision", "Principal", "Via", "can", "registrations", "sees", "visible"]
