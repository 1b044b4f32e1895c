package stream

import "github.com/fleetdeck/fleetdeck/config"

// OptionsFromConfig turns the [telemetry] section into session options. A
// client id the config does not name is made up per pipeline (see
// DefaultClientID).
func OptionsFromConfig(t *config.Telemetry, profile string) Options {
	if t == nil {
		return Options{}
	}
	return Options{
		Broker:        t.Broker,
		CAFile:        t.CAFile,
		CertFile:      t.CertFile,
		KeyFile:       t.KeyFile,
		ClientID:      t.ClientID,
		Profile:       profile,
		Topics:        t.TopicFilters(),
		QoS:           t.QoS,
		Pseudonymized: string(t.Pseudonymized),
	}
}
