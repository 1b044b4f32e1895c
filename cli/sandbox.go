package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/sandbox"
)

func newSandboxCmd(app *App) *cobra.Command {
	var o sandbox.Options
	var latency time.Duration
	var errorRate float64
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the simulators and the MQTT broker alone, in the foreground",
		Long: `Run the embedded sandbox in the foreground: simulators of the fleet, command
and platform APIs on one HTTP server, and an MQTT broker (mutual TLS) streaming
telemetry. It writes DIR/config.toml and the credential files (0600) so that
fleetdeck --config DIR/config.toml, curl and mosquitto_sub can all use it.

The telemetry is High Mobility's MQTT V1 on live/level13/{app_id}/... (with
--seed-topics on /live/level13/..., the seed's form), or with --mqtt-v2 MQTT
V2 on live/level13/{app_id}. Vehicles drive the streets of a few cities,
stop and park; trouble codes, bulb failures and tyre pressures are lists.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Dir == "" {
				return usageError("sandbox: --dir is required (the config and credentials are written there)")
			}
			o.Logger = app.Logger().With("component", "sandbox")
			start := time.Now()
			sb, err := sandbox.Start(cmd.Context(), o)
			if err != nil {
				return fmt.Errorf("start the sandbox: %w", err)
			}
			defer sb.Close()
			if latency > 0 {
				sb.Faults().SetLatency(latency)
			}
			if errorRate > 0 {
				sb.Faults().SetErrorRate(errorRate)
			}
			fmt.Fprintf(app.Stdout, `fleetdeck SANDBOX ready in %s
  HTTP   %s   (fleet /hm/v1, commands /mobway, platform /mrv/v1 and /platform/api/v1)
  MQTT   %s   (mutual TLS)
  config %s

  fleetdeck --config %s
  fleetdeck --config %s vehicles list

Faults, from another terminal (loopback only):
  curl -X POST %s/_faults/broker-restart
  curl -X POST '%s/_faults/platform-503?n=5'
  curl -X POST '%s/_faults/latency?d=500ms'     (also error-rate?p=0.2, token-ttl?d=30s)

Ctrl-C stops it.
`, time.Since(start).Round(time.Millisecond), sb.HTTPURL(), sb.MQTTURL(), sb.ConfigPath(), sb.ConfigPath(), sb.ConfigPath(),
				sb.HTTPURL(), sb.HTTPURL(), sb.HTTPURL())
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "directory for config.toml and credentials (required)")
	f.StringVar(&o.HTTPAddr, "http", "127.0.0.1:0", "HTTP listen address (loopback)")
	f.StringVar(&o.MQTTAddr, "mqtt", "127.0.0.1:0", "MQTT (TLS) listen address (loopback)")
	f.IntVar(&o.Vehicles, "vehicles", 0, "fleet size (default: sixteen vehicles in every clearance state)")
	f.Float64Var(&o.Rate, "rate", 0, "telemetry messages per second in all (default: about 1 per approved vehicle)")
	f.BoolVar(&o.Pseudonymized, "pseudonymized", false, "publish telemetry under pseudonyms instead of VINs")
	f.BoolVar(&o.MQTTV2, "mqtt-v2", false, "publish High Mobility's MQTT V2 (one topic live/level13/{app_id}, several capabilities a message) instead of V1")
	f.BoolVar(&o.SeedTopics, "seed-topics", false, "publish V1 exactly as document 001's example: /live/level13/..., no top-level timestamp (default: live/level13/..., as High Mobility publishes)")
	f.DurationVar(&o.TokenTTL, "token-ttl", 0, "fleet auth token lifetime (default 5m)")
	f.DurationVar(&o.CodeTTL, "code-ttl", 0, "how long an ignition confirmation code can be redeemed (default 2m, as mobway)")
	f.DurationVar(&latency, "latency", 0, "added latency on every HTTP response")
	f.Float64Var(&errorRate, "error-rate", 0, "fraction of HTTP requests answered with a 500 HTML page")
	return cmd
}
