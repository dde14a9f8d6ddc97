-- The allocator never writes an address outside its network's CIDR or on a reserved address;
-- this makes the database refuse it too, so hand edits and future code cannot either.
-- (A CHECK constraint cannot look at another table, hence a trigger.)
CREATE FUNCTION ipam.allocation_in_network() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n record;
BEGIN
  SELECT network(cidr) - '0.0.0.0'::inet AS first,
         broadcast(cidr) - '0.0.0.0'::inet AS last,
         gateway - '0.0.0.0'::inet AS gw
    INTO n FROM ipam.network WHERE id = NEW.network_id;
  IF NOT FOUND THEN
    RETURN NEW; -- the foreign key reports it
  END IF;
  IF NEW.address < n.first OR NEW.address > n.last THEN
    RAISE EXCEPTION 'address % is outside the CIDR of network %', NEW.address, NEW.network_id USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.address IN (n.first, n.last, n.gw) THEN
    RAISE EXCEPTION 'address % is a reserved address of network %', NEW.address, NEW.network_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER allocation_in_network BEFORE INSERT OR UPDATE ON ipam.allocation
  FOR EACH ROW EXECUTE FUNCTION ipam.allocation_in_network();
