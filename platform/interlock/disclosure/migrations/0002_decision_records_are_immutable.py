"""The database refuses to change or delete a disclosure decision once recorded."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION interlock_disclosure_decision_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'disclosure decisions are immutable: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER disclosure_decision_no_update_delete BEFORE UPDATE OR DELETE ON disclosure_decisionrecord
    FOR EACH ROW EXECUTE FUNCTION interlock_disclosure_decision_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS disclosure_decision_no_update_delete ON disclosure_decisionrecord;
DROP FUNCTION IF EXISTS interlock_disclosure_decision_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
