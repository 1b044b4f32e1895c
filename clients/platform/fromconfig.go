package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/fleetdeck/fleetdeck/config"
)

// NewFromConfig builds a client from the [platform] section, reading the
// key from $FLEETDECK_PLATFORM_API_KEY or the 0600 api_key_file.
func NewFromConfig(cfg *config.Platform, log *slog.Logger, opts ...Option) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("platform: no [platform] section in the config")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("platform: base_url is empty")
	}
	key, err := cfg.APIKey()
	if err != nil {
		if _, serr := os.Stat(cfg.APIKeyFile); errors.Is(serr, fs.ErrNotExist) {
			return nil, fmt.Errorf("platform: %w (create a key with `fleetdeck platform login`)", err)
		}
		return nil, fmt.Errorf("platform: %w", err)
	}
	return New(cfg.BaseURL, key, HTTPClient(log), append([]Option{WithLogger(log)}, opts...)...), nil
}

// SaveNewToken stores a freshly created API token at path, mode 0600 even
// when an older key file was more open. The platform shows a token only
// once, so callers save it before printing or doing anything else.
func SaveNewToken(path, token string) error {
	token = strings.TrimSpace(token)
	switch {
	case path == "":
		return errors.New("save API key: no api_key_file configured")
	case token == "" || !headerSafe(token):
		return errors.New("save API key: the token is empty or not a single printable line")
	}
	if err := config.WriteSecretFile(path, []byte(token+"\n")); err != nil {
		return fmt.Errorf("save API key: %w", err)
	}
	return nil
}
