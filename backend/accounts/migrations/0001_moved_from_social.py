import django.contrib.postgres.functions
import django.db.models.deletion
import django.db.models.functions.datetime
import django.db.models.functions.text
from django.db import migrations, models

import backend.shards.sql_expressions


# Account, AuthToken and Profile moved from social to accounts (issue 14).
# Their tables keep their names (Meta.db_table), so the move is in Django's
# state only: social 0005 forgets them, accounts 0001 takes them over, and
# notifications 0003 points its foreign keys at the new app. No SQL runs.
class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Profile",
                    fields=[
                        (
                            "user_id",
                            models.BigIntegerField(
                                db_default=backend.shards.sql_expressions.NextId(),
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("full_name", models.CharField(default="", max_length=64)),
                        ("bio", models.CharField(default="", max_length=300)),
                        ("is_private", models.BooleanField(default=False)),
                        ("photos_public", models.BooleanField(db_default=True)),
                        ("photo_count", models.IntegerField(db_default=0)),
                        ("follower_count", models.IntegerField(db_default=0)),
                        ("following_count", models.IntegerField(db_default=0)),
                        (
                            "created_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now()
                            ),
                        ),
                    ],
                    options={
                        "db_table": "social_profile",
                    },
                ),
                migrations.CreateModel(
                    name="Account",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("username", models.CharField(max_length=30)),
                        ("email", models.EmailField(blank=True, default="", max_length=254)),
                        ("password", models.CharField(max_length=256)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "social_account",
                        "constraints": [
                            models.UniqueConstraint(
                                django.db.models.functions.text.Lower("username"),
                                name="account_username_ci_unique",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AuthToken",
                    fields=[
                        (
                            "key_hash",
                            models.CharField(max_length=64, primary_key=True, serialize=False),
                        ),
                        (
                            "session_id",
                            models.UUIDField(
                                db_default=django.contrib.postgres.functions.RandomUUID(),
                                unique=True,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "last_used_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now()
                            ),
                        ),
                        ("device", models.CharField(blank=True, db_default="", max_length=200)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tokens",
                                to="accounts.account",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "social_authtoken",
                    },
                ),
            ],
        ),
    ]
