-- A service address's calls carry task ids made from (service, network, generation). A service
-- removed and deployed again under the same name starts its generations again, and RDMP would
-- answer the new calls with the completed results of the old ones (applying nothing). The epoch,
-- never reused, keeps one lifetime of an address's row apart from the next.
CREATE SEQUENCE sched.service_address_epoch;
ALTER TABLE sched.service_address ADD COLUMN epoch bigint NOT NULL DEFAULT nextval('sched.service_address_epoch');
