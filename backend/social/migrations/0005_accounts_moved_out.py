from django.db import migrations


# Account, AuthToken and Profile moved from social to accounts (issue 14).
# Their tables keep their names (Meta.db_table), so the move is in Django's
# state only: social 0005 forgets them, accounts 0001 takes them over, and
# notifications 0003 points its foreign keys at the new app. No SQL runs.
class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_accounts_app"),
        ("social", "0004_profile_photos_public"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="authtoken",
                    name="account",
                ),
                migrations.DeleteModel(
                    name="Profile",
                ),
                migrations.DeleteModel(
                    name="Account",
                ),
                migrations.DeleteModel(
                    name="AuthToken",
                ),
            ],
        ),
    ]
