"""The HTTP service: API keys, practice sessions, saved playbooks, and a team on conversations
and incidents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here rather than imported from models.py: a migration describes the schema as it
# was at its revision, whatever the models say later.
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("conversations", "incidents"):
        op.add_column(table, sa.Column("team", sa.String(length=200), nullable=True))
        op.create_index(op.f(f"ix_{table}_team"), table, ["team"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "role IN ('agent', 'trainer', 'manager', 'admin')", name=op.f("ck_api_keys_role")
        ),
        sa.CheckConstraint(
            "role <> 'manager' OR team IS NOT NULL", name=op.f("ck_api_keys_manager_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )

    op.create_table(
        "practice_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("trainee", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("replies", JSON_DOCUMENT, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("training_session_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_session_id"],
            ["training_sessions.id"],
            name=op.f("fk_practice_sessions_training_session_id_training_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_sessions")),
    )
    op.create_index(
        "ix_practice_sessions_trainee_started_at",
        "practice_sessions",
        ["trainee", "started_at"],
        unique=False,
    )

    op.create_table(
        "playbook_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_versions")),
    )


def downgrade() -> None:
    op.drop_table("playbook_versions")
    op.drop_table("practice_sessions")
    op.drop_table("api_keys")
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild: rebuilding
    # conversations would drop the table, and the foreign keys would cascade to its events.
    for table in ("incidents", "conversations"):
        op.drop_index(op.f(f"ix_{table}_team"), table_name=table)
        op.drop_column(table, "team")
