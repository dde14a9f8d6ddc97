-- A replica id comes back when its slot is used again after a scale-down (app-1@rev1 once more).
-- Every call a replica's transactions make carries a task id derived from the replica; the
-- incarnation, never reused, keeps those of a later incarnation apart from the completed ones of an
-- earlier one (which RDMP would otherwise recognise and answer with their old results).
ALTER TABLE sched.replica ADD COLUMN incarnation bigserial;
