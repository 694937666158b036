"""The Notification model now belongs to `notifications`; the table stays (state only)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("findings", "0003_finding_group_recipient"),
        ("notifications", "0001_notification_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
