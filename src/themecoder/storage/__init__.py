"""The store: engine factory, ORM tables, repository functions and Alembic migrations.

Importing this package opens nothing; call :func:`make_engine` and :func:`init_db`.
"""

from themecoder.storage.engine import (
    MIGRATIONS_DIR,
    alembic_config,
    init_db,
    make_engine,
    session_factory,
)
from themecoder.storage.escalations import EscalationEventRecord, EscalationRecord
from themecoder.storage.insights import InsightLinkRecord, InsightRecord, InsightStatusRecord
from themecoder.storage.interop import (
    CodedSegmentRecord,
    QdaImportRecord,
    WebhookDeliveryRecord,
    WebhookSecretRecord,
)
from themecoder.storage.outcomes import AccountRecord, OutcomeRecord
from themecoder.storage.repository import (
    bucket_summary,
    latest_run_id,
    load_embeddings,
    run_overview,
    save_results,
)
from themecoder.storage.review import (
    ApiKeyRecord,
    AuditEventRecord,
    BlindCodeRecord,
    DoubleCodedUnitRecord,
    JobRecord,
    ModelVersionRecord,
    ProjectRecord,
    SuggestionRecord,
)
from themecoder.storage.tables import Base, CodeRecord, ItemRecord, RunRecord, UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

__all__ = [
    "MIGRATIONS_DIR",
    "AccountRecord",
    "EscalationEventRecord",
    "EscalationRecord",
    "OutcomeRecord",
    "ApiKeyRecord",
    "AuditEventRecord",
    "Base",
    "BlindCodeRecord",
    "CodeRecord",
    "CodedSegmentRecord",
    "DoubleCodedUnitRecord",
    "InsightLinkRecord",
    "InsightRecord",
    "InsightStatusRecord",
    "ItemRecord",
    "JobRecord",
    "ModelVersionRecord",
    "ProjectRecord",
    "QdaImportRecord",
    "RunRecord",
    "SuggestionRecord",
    "ThemeRecord",
    "UnitRecord",
    "UnitThemeRecord",
    "WebhookDeliveryRecord",
    "WebhookSecretRecord",
    "alembic_config",
    "bucket_summary",
    "init_db",
    "latest_run_id",
    "load_embeddings",
    "make_engine",
    "run_overview",
    "save_results",
    "session_factory",
]
