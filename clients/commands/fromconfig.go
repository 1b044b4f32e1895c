package commands

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

// NewFromConfig builds a client from the [commands] section, reading the
// token and sign secret from $FLEETDECK_COMMANDS_TOKEN /
// $FLEETDECK_COMMANDS_SIGN_SECRET or their 0600 files.
func NewFromConfig(cfg *config.Commands, log *slog.Logger, opts ...Option) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("commands: no [commands] section in the config")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("commands: base_url is empty")
	}
	token, err := cfg.Token()
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	secret, err := cfg.SignSecret()
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	hc := httpapi.New(httpapi.Options{Logger: log})
	return New(cfg.BaseURL, token, NewSigner(secret), hc, append([]Option{WithLogger(log)}, opts...)...), nil
}
