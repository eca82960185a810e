package queue

// ParseDSN is parseDSN for the external tests.
var ParseDSN = parseDSN
