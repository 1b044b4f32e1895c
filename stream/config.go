package stream

import "github.com/fleetdeck/fleetdeck/config"

// OptionsFromConfig turns the [telemetry] section into session options. The
// client id, unless the config names one, is stable per host and profile.
func OptionsFromConfig(t *config.Telemetry, profile string) Options {
	if t == nil {
		return Options{}
	}
	id := t.ClientID
	if id == "" {
		id = DefaultClientID(profile)
	}
	return Options{
		Broker:        t.Broker,
		CAFile:        t.CAFile,
		CertFile:      t.CertFile,
		KeyFile:       t.KeyFile,
		ClientID:      id,
		Topics:        t.TopicFilters(),
		QoS:           t.QoS,
		Pseudonymized: string(t.Pseudonymized),
	}
}
