package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Client talks to the command API. It is safe for concurrent use.
type Client struct {
	baseURL string
	token   string
	signer  *Signer
	hc      *httpapi.Client
	log     *slog.Logger

	pollMin, pollMax time.Duration
	maxTransient     int
	sleep            func(ctx context.Context, d time.Duration) error
}

// Option adjusts a Client.
type Option func(*Client)

// WithPolling sets Follow's backoff: the first wait, doubled (with jitter)
// up to max. Defaults: 500ms to 5s.
func WithPolling(first, max time.Duration) Option {
	return func(c *Client) {
		if first > 0 {
			c.pollMin = first
		}
		if max >= c.pollMin {
			c.pollMax = max
		}
	}
}

// WithSleep replaces the wait between polls (tests make it instant).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithLogger logs polling decisions (never secrets or codes).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a client for the API at baseURL (e.g. https://api.mobway.cloud).
func New(baseURL, token string, signer *Signer, hc *httpapi.Client, opts ...Option) *Client {
	if hc == nil {
		hc = httpapi.New(httpapi.Options{})
	}
	c := &Client{
		baseURL:      strings.TrimRight(baseURL, "/"),
		token:        token,
		signer:       signer,
		hc:           hc,
		log:          slog.New(slog.DiscardHandler),
		pollMin:      500 * time.Millisecond,
		pollMax:      5 * time.Second,
		maxTransient: 5,
		sleep:        httpapi.Sleep,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// String keeps the token out of %v.
func (c Client) String() string { return "commands.Client{" + c.baseURL + "}" }

// GoString keeps the token out of %#v.
func (c Client) GoString() string { return c.String() }

// ValidCode reports whether code is a confirmation code as the first step
// issues it: exactly six ASCII digits. Send refuses any other code before
// sending; callers that take the code from an operator check it with this.
func ValidCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Send starts command on vin. With code "" it is the first (or only) step;
// an ignition command then comes back as a Confirmation whose code the
// operator types, and Send is called again with it. The code travels in the
// body but is not signed. Send never retries: a command must not run twice.
func (c *Client) Send(ctx context.Context, vin, command, code string) (SendResult, error) {
	switch {
	case vin == "":
		return SendResult{}, errors.New("send command: no VIN given")
	case command == "":
		return SendResult{}, fmt.Errorf("send command to %s: no command given", termsafe.String(vin))
	case !utf8.ValidString(vin) || !utf8.ValidString(command):
		// Canonical would sign U+FFFD for the bad bytes; refuse instead of
		// sending something other than what was asked for.
		return SendResult{}, errors.New("send command: VIN and command must be valid UTF-8")
	case c.signer == nil:
		return SendResult{}, errors.New("send command: no sign secret configured")
	case c.token == "":
		return SendResult{}, errors.New("send command: no token configured")
	}
	what := "send " + termsafe.String(command) + " to " + termsafe.String(vin)
	body := Canonical(vin, command)
	if code != "" {
		code = strings.TrimSpace(code)
		if !ValidCode(code) {
			return SendResult{}, fmt.Errorf("%s: %w", what, ErrCodeFormat)
		}
		body = appendObject(nil, [][2]string{{"code", code}, {"command", command}, {"vin", vin}})
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	h.Set("X-Signature", c.signer.Sign(vin, command))
	resp, err := c.hc.Do(ctx, httpapi.Request{
		Method: http.MethodPost, URL: c.baseURL + "/vehicle-command", Header: h,
		Body: body, ContentType: "application/json",
	})
	if err != nil {
		return SendResult{}, fmt.Errorf("%s: %w", what, err)
	}
	res, err := parseSend(resp, vin, command, c.token, code)
	if err != nil {
		return SendResult{}, fmt.Errorf("%s: %w", what, err)
	}
	return res, nil
}

// wireCommand is the JSON of both routes' answers.
type wireCommand struct {
	ID      string          `json:"id"`
	VIN     string          `json:"vin"`
	Command string          `json:"command"`
	Status  string          `json:"status"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail"`
	Created string          `json:"created"`
	Updated string          `json:"updated"`
}

func (w wireCommand) command() Command {
	c := Command{
		ID:      termsafe.String(w.ID),
		VIN:     termsafe.String(w.VIN),
		Command: termsafe.String(w.Command),
		Status:  parseStatus(w.Status),
		Created: parseTime(w.Created),
		Updated: parseTime(w.Updated),
	}
	if len(w.Detail) > 0 && string(w.Detail) != "null" {
		c.Detail = append(json.RawMessage(nil), w.Detail...)
	}
	return c
}

// decode reads a JSON object answer, or explains why it is not one.
func decode(resp *httpapi.Response) (wireCommand, error) {
	var w wireCommand
	if !resp.JSON() {
		return w, httpapi.Unexpected(resp)
	}
	if err := json.Unmarshal(resp.Body, &w); err != nil {
		return w, httpapi.Unexpected(resp)
	}
	return w, nil
}

// failure turns a non-2xx answer into an error: a documented detail, an
// undocumented one, a refused token, or an unexpected body. secrets (the
// token, a confirmation code) are blanked out of the server's text.
func failure(resp *httpapi.Response, secrets ...string) error {
	const tokenHint = "check token_file / FLEETDECK_COMMANDS_TOKEN"
	authFailed := resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden
	w, err := decode(resp)
	if err == nil {
		if de := detailError(resp.Status, w.Detail, secrets...); de != nil {
			if de.Kind == nil && authFailed {
				// An undocumented detail on 401/403 ("Invalid token.") is about the token.
				de.Kind, de.Hint = ErrUnauthorized, tokenHint
			}
			return de
		}
	}
	if authFailed {
		return &DetailError{HTTPStatus: resp.Status, Kind: ErrUnauthorized, Hint: tokenHint}
	}
	if err != nil {
		return err
	}
	return httpapi.Unexpected(resp)
}

func parseSend(resp *httpapi.Response, vin, command string, secrets ...string) (SendResult, error) {
	if resp.Status < 200 || resp.Status > 299 {
		return SendResult{}, failure(resp, secrets...)
	}
	w, err := decode(resp)
	if err != nil {
		return SendResult{}, err
	}
	if strings.TrimSpace(w.Status) == "" {
		if de := detailError(resp.Status, w.Detail, secrets...); de != nil {
			return SendResult{}, de
		}
		return SendResult{}, httpapi.Unexpected(resp)
	}
	cmd := w.command()
	if cmd.VIN == "" {
		cmd.VIN = termsafe.String(vin)
	}
	if cmd.Command == "" {
		cmd.Command = termsafe.String(command)
	}
	if cmd.Status == StatusConfirmation {
		if w.Code == "" {
			return SendResult{}, errors.New("confirmation answer carried no code")
		}
		return SendResult{Confirmation: &Confirmation{
			VIN: cmd.VIN, Command: cmd.Command,
			Code: termsafe.String(strings.TrimSpace(w.Code)), Message: termsafe.String(w.Message),
		}}, nil
	}
	return SendResult{Command: &cmd}, nil
}

// Status fetches the state of the command with this id.
func (c *Client) Status(ctx context.Context, id string) (Command, error) {
	if id == "" {
		return Command{}, errors.New("command status: no id given")
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(ctx, httpapi.Request{
		Method: http.MethodGet, URL: c.baseURL + "/vehicle-command/" + url.PathEscape(id), Header: h,
	})
	if err != nil {
		return Command{}, fmt.Errorf("command status %s: %w", termsafe.String(id), err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return Command{}, fmt.Errorf("command status %s: %w", termsafe.String(id), failure(resp, c.token))
	}
	w, err := decode(resp)
	if err != nil {
		return Command{}, fmt.Errorf("command status %s: %w", termsafe.String(id), err)
	}
	cmd := w.command()
	if cmd.ID == "" {
		cmd.ID = termsafe.String(id)
	}
	return cmd, nil
}

// Follow polls the command until it is Success or Error, calling each (when
// not nil) whenever its status changes, first call included. Waits start at
// the polling minimum and double, jittered, to the maximum. Transient
// failures (no response, timeouts, 429, 5xx) are retried a bounded number of
// times in a row; anything else ends Follow. It returns the last state seen,
// with ctx's error if ctx ended first.
func (c *Client) Follow(ctx context.Context, id string, each func(Command)) (Command, error) {
	var last Command
	var seen bool
	wait := c.pollMin
	failures := 0
	for {
		cmd, err := c.Status(ctx, id)
		switch {
		case ctx.Err() != nil:
			return last, fmt.Errorf("follow command %s: %w", termsafe.String(id), ctx.Err())
		case err != nil && transient(err) && failures < c.maxTransient:
			failures++
			c.log.Debug("command status failed, retrying", "id", id, "attempt", failures, "err", err)
		case err != nil:
			return last, fmt.Errorf("follow: %w", err)
		default:
			failures = 0
			if !seen || cmd.Status != last.Status {
				seen = true
				if each != nil {
					each(cmd)
				}
			}
			last = cmd
			if cmd.Terminal() {
				return cmd, nil
			}
		}
		if err := c.sleep(ctx, httpapi.Jitter(wait)); err != nil {
			return last, fmt.Errorf("follow command %s: %w", termsafe.String(id), err)
		}
		wait = min(wait*2, c.pollMax)
	}
}

// transient reports whether a failed status request is worth repeating.
func transient(err error) bool {
	var te *httpapi.TransportError
	if errors.As(err, &te) {
		return true
	}
	var ue *httpapi.UnexpectedError
	if errors.As(err, &ue) {
		return ue.Status == http.StatusTooManyRequests || ue.Status >= 500
	}
	var de *DetailError
	if errors.As(err, &de) {
		return de.Kind == nil && (de.HTTPStatus == http.StatusTooManyRequests || de.HTTPStatus >= 500)
	}
	return false
}
