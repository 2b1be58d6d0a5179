"""Triggers that record, in the transaction making it, every change the matcher must react to.

Whatever writes a job's embedding or activity (the ingest, an operator's shell, a data migration), the
row records the transaction that did it; whatever writes a CV's embedding, the CV forgets the match it
had. core.matching.matcher reads both (see MatchSnapshot).
"""

from django.db import migrations

JOB_CHANGED = """
CREATE FUNCTION core_job_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.embedding IS NOT NULL)
       OR (TG_OP = 'UPDATE' AND (NEW.embedding IS DISTINCT FROM OLD.embedding
                                 OR NEW.is_active IS DISTINCT FROM OLD.is_active)) THEN
        NEW.changed_xid := pg_current_xact_id()::text::bigint;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER core_job_record_change BEFORE INSERT OR UPDATE OF embedding, is_active ON core_job
    FOR EACH ROW EXECUTE FUNCTION core_job_record_change();
"""

CV_CHANGED = """
CREATE FUNCTION core_cv_forget_match() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.embedding IS DISTINCT FROM OLD.embedding THEN
        NEW.matched_in_id := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER core_cv_forget_match BEFORE UPDATE OF embedding ON core_cv
    FOR EACH ROW EXECUTE FUNCTION core_cv_forget_match();
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0005_exactly_once")]

    operations = [
        migrations.RunSQL(
            JOB_CHANGED,
            "DROP TRIGGER core_job_record_change ON core_job; DROP FUNCTION core_job_record_change();",
        ),
        migrations.RunSQL(
            CV_CHANGED,
            "DROP TRIGGER core_cv_forget_match ON core_cv; DROP FUNCTION core_cv_forget_match();",
        ),
    ]
