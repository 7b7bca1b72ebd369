// The durable journal and its uplink: see the files of this module.
