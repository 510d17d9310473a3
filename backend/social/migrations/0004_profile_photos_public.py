from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("social", "0003_sessions"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="photos_public",
            field=models.BooleanField(db_default=True),
        ),
        # Private accounts already there get presigned URLs at once; their
        # objects are made private by `sync_photo_visibility` (README).
        migrations.RunSQL(
            "UPDATE social_profile SET photos_public = false WHERE is_private",
            migrations.RunSQL.noop,
            hints={"sharded": True},
        ),
    ]
