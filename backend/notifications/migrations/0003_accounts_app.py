import django.db.models.deletion
from django.db import migrations, models


# Account, AuthToken and Profile moved from social to accounts (issue 14).
# Their tables keep their names (Meta.db_table), so the move is in Django's
# state only: social 0005 forgets them, accounts 0001 takes them over, and
# notifications 0003 points its foreign keys at the new app. No SQL runs.
class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_moved_from_social"),
        ("notifications", "0002_device_session"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="devicetoken",
                    name="account",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="devices",
                        to="accounts.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="devicetoken",
                    name="auth_token",
                    field=models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.authtoken",
                    ),
                ),
                migrations.AlterField(
                    model_name="postnotificationoptin",
                    name="account",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
            ],
        ),
    ]
