"""SQLAlchemy models by area; no commits and no clock reads here."""

from som_flow.models.activities import Activity
from som_flow.models.catalogs import CATALOGS, CatalogEntry, CustomField, ExchangeRate, Question, Stage
from som_flow.models.customers import Contact, Customer
from som_flow.models.jobs import FollowOnVersion, JobWork
from som_flow.models.kinds import KindVersion, OpportunityKind
from som_flow.models.opportunities import (
    DemandLine,
    Estimate,
    EstimateLine,
    Event,
    ForecastSnapshot,
    Opportunity,
    Party,
    StageStay,
    WorkflowState,
)
from som_flow.models.preferences import Preference
from som_flow.models.reference import ReferenceVersion
from som_flow.models.users import ROLES, ApiToken, User, UserSession
from som_flow.models.work import Appointment, Delivery, Notification, Reminder, Task, appointment_attendee

__all__ = [
    "CATALOGS", "ROLES",
    "Activity", "ApiToken", "Appointment", "CatalogEntry", "Contact", "ContactLogEntry", "CustomField", "Customer",
    "Delivery", "DemandLine", "Estimate", "EstimateLine", "Event", "ExchangeRate", "ForecastSnapshot",
    "KindVersion", "Notification", "Opportunity", "OpportunityKind", "Party", "Preference", "Question",
    "ReferenceVersion", "Reminder", "Stage", "StageStay", "Task", "User", "UserSession", "WorkflowState",
    "appointment_attendee",
]

ContactLogEntry = Activity  # the contact log's name for the same rows
__all__ += ["FollowOnVersion", "JobWork"]
