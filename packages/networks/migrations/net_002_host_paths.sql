-- A host reaches the others over a shared L2 fabric (its uplink port, within an L2 domain), over
-- VXLAN (its VTEP: the tunnel port on its bridge and the tunnel endpoint address), or both.
ALTER TABLE net.host ALTER COLUMN uplink_port DROP NOT NULL;
ALTER TABLE net.host ADD COLUMN l2_domain text NOT NULL DEFAULT 'default';
ALTER TABLE net.host ADD COLUMN vtep_ip inet CHECK (vtep_ip IS NULL OR family(vtep_ip) = 4);
ALTER TABLE net.host ADD COLUMN vtep_port text;
ALTER TABLE net.host ADD CONSTRAINT host_vtep_whole CHECK ((vtep_ip IS NULL) = (vtep_port IS NULL));
CREATE UNIQUE INDEX host_vtep_ip_idx ON net.host (vtep_ip) WHERE vtep_ip IS NOT NULL;
