-- The operator is checked at the civil registry and the aviation authority (each audited there)
-- and was never read back here: a flight report keeps the drone, not the person flying it.
ALTER TABLE flight_report DROP COLUMN operator_id_number, DROP COLUMN operator_name;
