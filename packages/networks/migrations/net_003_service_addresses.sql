-- A service's address on a network (a virtual IP from the network's IPAM pool) and the interfaces
-- its connections are balanced over. Its number comes from the interface numbers, so it is unique
-- among interfaces too: the data plane uses it as the OpenFlow group id and in cookies.
CREATE TABLE net.service_address (
  service    text    NOT NULL,
  network_id text    NOT NULL REFERENCES net.network (id),
  ip         inet    NOT NULL UNIQUE,
  mac        macaddr NOT NULL UNIQUE,
  num        bigint  NOT NULL UNIQUE CHECK (num BETWEEN 1 AND 4294967295),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, network_id)
);

-- A detached interface leaves every service it served in the same transaction.
CREATE TABLE net.service_backend (
  service      text NOT NULL,
  network_id   text NOT NULL,
  interface_id text NOT NULL REFERENCES net.interface (id) ON DELETE CASCADE,
  PRIMARY KEY (service, network_id, interface_id),
  FOREIGN KEY (service, network_id) REFERENCES net.service_address (service, network_id) ON DELETE CASCADE
);
