"""Base of the provider's extra links: built from what the task persisted at execute time.

As the amazon provider's ``BaseAwsLink``: a task calls :meth:`RegistryBaseLink.persist` in its
``execute`` with what its links need (pushed to XCom under :attr:`RegistryBaseLink.key`), and
:meth:`~RegistryBaseLink.get_link` formats the link from that, and from nothing else. A link is never
guessed, and never reads DynamoDB: rendering a page costs no registry call.

Where links are computed:

* Airflow 3: in the worker, once, when the task ends (``finalize``), with the operator that ran;
  the UI shows the stored result. A task that persisted nothing (it failed or skipped before it
  knew its run, or ``do_xcom_push=False``) gets "no link" without asking for the XCom: on Airflow 3
  reading an XCom a task never pushed logs ``[error] XCom not found`` in the task's log.
* Airflow 2.11: in the webserver, when the page renders, from the same XCom (no registry call).

An empty link is what Airflow shows as "no link". Cheap to import: nothing here imports boto3.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from ..utils.compat import AIRFLOW_V_3_PLUS
from ..xcom_keys import XCOM_RUN_LINK

log = logging.getLogger(__name__)

#: attribute of an operator instance naming the link keys it persisted in this process
_PERSISTED_ATTR = "_pipeline_registry_links_persisted"


class RegistryBaseLink(BaseOperatorLink):
    """An extra link formatted from the values its task persisted (XCom :attr:`key`)."""

    name: ClassVar[str]
    #: the XCom key the values are persisted under
    key: ClassVar[str] = XCOM_RUN_LINK

    def format_link(self, **values: Any) -> str:
        """The link for the persisted ``values`` ("" when they do not make one)."""
        raise NotImplementedError

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        values = persisted_values(operator, ti_key, self.key)
        if not values:
            return ""
        try:
            return self.format_link(**values)
        except (KeyError, TypeError, ValueError):  # values from another version of the provider
            return ""

    @classmethod
    def persist(cls, context: Any, operator: Any, **values: Any) -> None:
        """Store ``values`` for the links of ``operator`` (XCom :attr:`key`); nothing when the task
        pushes no XCom (``do_xcom_push=False``). Never raises: a link is not worth failing a task."""
        if getattr(operator, "do_xcom_push", True) is False:
            return
        try:
            context["ti"].xcom_push(key=cls.key, value=dict(values))
        except Exception as exc:  # as amazon's ``return_on_error``: a link never fails the task
            log.warning("pipeline-registry: the task's extra links were not persisted (%s)", type(exc).__name__)
            return
        persisted = set(getattr(operator, _PERSISTED_ATTR, ()) or ())
        persisted.add(cls.key)
        setattr(operator, _PERSISTED_ATTR, frozenset(persisted))


def persisted_values(operator: Any, ti_key: Any, key: str) -> Mapping[str, Any] | None:
    """What the task persisted under ``key``, or None, without asking for an XCom that cannot exist."""
    if getattr(operator, "do_xcom_push", True) is False:
        return None
    if AIRFLOW_V_3_PLUS and key not in (getattr(operator, _PERSISTED_ATTR, None) or ()):
        return None  # Airflow 3 computes links with the operator that ran: it persisted nothing
    try:
        value = XCom.get_value(ti_key=ti_key, key=key)
    except Exception:  # not readable from here: no link, never a failed task or page
        return None
    return value if isinstance(value, Mapping) else None


__all__ = ["RegistryBaseLink", "persisted_values"]
