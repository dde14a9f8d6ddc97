-- Where each replica is reachable, for the queries: per network of its service, in the service's
-- order, what its start transaction's attachInterface calls returned ({network, ifname, ip, mac}).
-- Kept apart from `interfaces` (the ids the stop transaction releases) so that column keeps its
-- meaning. Replicas started before this column existed have an empty list.
ALTER TABLE sched.replica ADD COLUMN addresses jsonb NOT NULL DEFAULT '[]';
