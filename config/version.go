package config

// Version is fleetdeck's version, sent in User-Agent and printed by --version.
const Version = "0.1.0"
