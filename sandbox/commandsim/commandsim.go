// Package commandsim simulates mobway's vehicle-command API (document 002)
// for the embedded sandbox: bearer token, X-Signature over Python's compact
// sorted JSON, two-step confirmation of ignition commands, and commands that
// run in the background and end Success or Error.
//
// It is written from the document, not from fleetdeck's client, so that each
// checks the other.
//
// The document names the error details but not the HTTP statuses. This
// simulator answers every error as {"detail": "..."} with:
//
//	401  missing or wrong bearer token
//	400  Invalid VIN… / Invalid command… / malformed body / Confirmation invalid
//	409  Confirmation already used
//	403  Sign-secret not found. (no X-Signature) / X-Signature invalid. (mismatch)
//	404  VIN not found or unauthorized access. / Command not found or unauthorized access.
//	     / Command not found. (GET of an unknown id)
//	502  Failed to send command to the OEM. / Failed to initiate command with the OEM…
//	429  too many commands in flight; 503 after Close
//
// Checks run in this order: token, vin and command shape, signature, VIN,
// command, confirmation code, OEM.
//
// GET /vehicle-command/{id} answers detail {} while the command is Pending
// and, on Success, the vehicle's data with date_time (UTC-3) as mobway's
// command pages show: {"date_time"} for the doors, {"latitude",
// "longitude", "date_time"} for location, data points for diagnostics.
package commandsim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/sandbox/internal/jsonreply"
)

// Statuses a command goes through.
const (
	StatusConfirmation = "Confirmation"
	StatusPending      = "Pending"
	StatusSuccess      = "Success"
	StatusError        = "Error"
)

// DefaultCommands returns the commands every vehicle offers unless
// Options.Commands says otherwise: the ones the documents name.
func DefaultCommands() []string {
	return []string{"lock_door", "unlock_door", "location", "diagnostics", "enable_ignition", "disable_ignition"}
}

// VINs with these suffixes fail at the OEM every time, so the sandbox can
// show both documented OEM failures on demand.
const (
	FailSendSuffix     = "ZZZZ1" // "Failed to send command to the OEM."
	FailInitiateSuffix = "ZZZZ2" // "Failed to initiate command with the OEM or retrieve status URL."
)

// The documented details, verbatim.
const (
	detailInvalidVIN          = "Invalid VIN. VIN must be a string. At least one VIN is required."
	detailInvalidCommand      = "Invalid command. Command must be a string. At least one command is required."
	detailVINNotFound         = "VIN not found or unauthorized access."
	detailCommandNotFound     = "Command not found or unauthorized access."
	detailSignSecretNotFound  = "Sign-secret not found."
	detailSignatureInvalid    = "X-Signature invalid."
	detailOEMSend             = "Failed to send command to the OEM."
	detailOEMInitiate         = "Failed to initiate command with the OEM or retrieve status URL."
	detailConfirmationInvalid = "Confirmation invalid"
	detailConfirmationUsed    = "Confirmation already used"
	detailUnknownID           = "Command not found."
)

const (
	defaultDelay = 1500 * time.Millisecond
	maxBody      = 64 << 10
	maxRecords   = 10_000
	maxInFlight  = 1_000
	timeLayout   = "2006-01-02 15:04:05"
)

// The API reports times in UTC-3 without saying so in the string.
var utcMinus3 = time.FixedZone("UTC-3", -3*60*60)

// Options configure a Server.
type Options struct {
	Token      string // the company's bearer token
	SignSecret string // key of the X-Signature HMAC
	// Known reports whether vin belongs to the company; nil knows every VIN.
	Known func(vin string) bool
	// Apply runs an accepted command when its delay has passed: the vehicle
	// data it returns (a map, or nil for none) becomes a Success detail with
	// mobway's date_time added, an error's text becomes an Error. nil Apply
	// succeeds with the date_time alone.
	Apply func(vin, command string) (data map[string]any, err error)
	// Commands every vehicle offers; nil means DefaultCommands().
	Commands []string
	// Delay between acceptance and the outcome; 0 means 1.5 s.
	Delay time.Duration
	// FailureRate is the probability (0..1) that the OEM step fails at random.
	FailureRate float64
	// FixedCode, when six digits, is handed out as every confirmation code
	// instead of a random one. For recorded demos only: a tape cannot read
	// the code off the screen. Single use and expiry still apply.
	FixedCode string
	// CodeTTL is how long a confirmation code can be redeemed; 0 means two
	// minutes, as mobway. Tests shorten it.
	CodeTTL time.Duration
	Logger  *slog.Logger
	Now     func() time.Time // nil: time.Now
}

// Server is the simulated command API. Close it to end pending commands.
type Server struct {
	token, secret []byte
	known         func(string) bool
	apply         func(string, string) (map[string]any, error)
	commands      []string
	delay         time.Duration
	log           *slog.Logger
	now           func() time.Time
	codes         *confirmations
	mux           *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	records     map[string]*record
	order       []string // record ids, oldest first, for eviction
	inFlight    int
	failureRate float64
	closed      bool
}

type record struct {
	id, vin, command string
	status           string
	detail           json.RawMessage
	created, updated time.Time
}

// New returns a Server; it starts nothing until commands arrive.
func New(o Options) *Server {
	s := &Server{
		token:       []byte(o.Token),
		secret:      []byte(o.SignSecret),
		known:       o.Known,
		apply:       o.Apply,
		commands:    slices.Clone(o.Commands),
		delay:       o.Delay,
		log:         o.Logger,
		now:         o.Now,
		codes:       newConfirmations(o.FixedCode, o.CodeTTL),
		records:     make(map[string]*record),
		failureRate: o.FailureRate,
	}
	if s.known == nil {
		s.known = func(string) bool { return true }
	}
	if s.apply == nil {
		s.apply = func(string, string) (map[string]any, error) { return nil, nil }
	}
	if s.commands == nil {
		s.commands = DefaultCommands()
	}
	if s.delay <= 0 {
		s.delay = defaultDelay
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/vehicle-command", s.handleSend)
	s.mux.HandleFunc("/vehicle-command/{id}", s.handleStatus)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		jsonreply.Detail(w, http.StatusNotFound, "Not Found")
	})
	return s
}

// Handler serves the routes relative to the API's base URL
// (mounted under /mobway by the sandbox).
func (s *Server) Handler() http.Handler { return s.mux }

// SetFailureRate changes the probability of a random OEM failure.
func (s *Server) SetFailureRate(p float64) {
	s.mu.Lock()
	s.failureRate = p
	s.mu.Unlock()
}

// Close ends every pending command (they stay Pending) and waits for the
// background work to stop. Later sends are refused with 503.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		jsonreply.Detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			jsonreply.Detail(w, http.StatusRequestEntityTooLarge, "Request body too large.")
			return
		}
		jsonreply.Detail(w, http.StatusBadRequest, "Could not read the request body.")
		return
	}
	var fields map[string]json.RawMessage
	if !utf8.Valid(body) || json.Unmarshal(body, &fields) != nil {
		jsonreply.Detail(w, http.StatusBadRequest, "Request body must be a JSON object.")
		return
	}
	vinUnits, ok := decodeJSONString(fields["vin"])
	if !ok || len(vinUnits) == 0 {
		s.refuse(w, http.StatusBadRequest, detailInvalidVIN, "", "")
		return
	}
	cmdUnits, ok := decodeJSONString(fields["command"])
	if !ok || len(cmdUnits) == 0 {
		s.refuse(w, http.StatusBadRequest, detailInvalidCommand, goString(vinUnits), "")
		return
	}
	vin, command := goString(vinUnits), goString(cmdUnits)

	signature := r.Header.Get("X-Signature")
	if signature == "" {
		s.refuse(w, http.StatusForbidden, detailSignSecretNotFound, vin, command)
		return
	}
	mac := hmac.New(sha256.New, s.secret)
	mac.Write(canonical(vinUnits, cmdUnits))
	// Python's hexdigest is lower case and the comparison is byte for byte.
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(signature)) {
		s.refuse(w, http.StatusForbidden, detailSignatureInvalid, vin, command)
		return
	}
	if !s.known(vin) {
		s.refuse(w, http.StatusNotFound, detailVINNotFound, vin, command)
		return
	}
	if !slices.Contains(s.commands, command) {
		s.refuse(w, http.StatusNotFound, detailCommandNotFound, vin, command)
		return
	}

	if needsConfirmation(command) {
		code, given := confirmationCode(fields["code"])
		key := codeKey{vin: vin, command: command}
		if !given {
			s.askConfirmation(w, key)
			return
		}
		// The code is spent before the OEM is asked: a failure there means
		// a new first step, like any used code.
		switch err := s.codes.redeem(key, code, s.now()); {
		case errors.Is(err, errConfirmationUsed):
			s.refuse(w, http.StatusConflict, detailConfirmationUsed, vin, command)
			return
		case err != nil:
			s.refuse(w, http.StatusBadRequest, detailConfirmationInvalid, vin, command)
			return
		}
	}

	if detail := s.oemFailure(vin); detail != "" {
		s.refuse(w, http.StatusBadGateway, detail, vin, command)
		return
	}
	s.accept(w, vin, command)
}

// authorized checks the bearer token and answers 401 when it is wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		jsonreply.Detail(w, http.StatusUnauthorized, "Not authenticated")
		return false
	}
	if len(s.token) == 0 || subtle.ConstantTimeCompare([]byte(token), s.token) != 1 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		jsonreply.Detail(w, http.StatusUnauthorized, "Invalid token.")
		return false
	}
	return true
}

func needsConfirmation(command string) bool {
	return command == "enable_ignition" || command == "disable_ignition"
}

// confirmationCode reads the optional code field. Absent, null and "" mean
// the first step; any other non-string is a code that cannot match.
func confirmationCode(raw json.RawMessage) (code string, given bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	units, ok := decodeJSONString(raw)
	if !ok {
		return "", true
	}
	if len(units) == 0 {
		return "", false
	}
	return goString(units), true
}

// confirmationMessage is the Portuguese alert shown before an ignition command.
func confirmationMessage(command string) string {
	if command == "enable_ignition" {
		return "Atenção: o comando de ligar a ignição será enviado ao veículo. Confirme apenas se o veículo puder voltar a funcionar com segurança."
	}
	return "Atenção: o comando de desligar a ignição será enviado ao veículo. Confirme apenas se o veículo estiver parado em local seguro."
}

func (s *Server) askConfirmation(w http.ResponseWriter, key codeKey) {
	now := s.now()
	code, err := s.codes.issue(key, now)
	if err != nil {
		s.log.Error("confirmation code", "err", err)
		jsonreply.Detail(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	s.log.Info("confirmation requested", "vin", key.vin, "command", key.command)
	w.Header().Set("Cache-Control", "no-store")
	jsonreply.Write(w, http.StatusOK, map[string]string{
		"vin":     key.vin,
		"command": key.command,
		"status":  StatusConfirmation,
		"code":    code,
		"message": confirmationMessage(key.command),
		"created": formatTime(now),
	})
}

// oemFailure returns the detail of a simulated OEM failure, or "".
func (s *Server) oemFailure(vin string) string {
	switch {
	case strings.HasSuffix(vin, FailSendSuffix):
		return detailOEMSend
	case strings.HasSuffix(vin, FailInitiateSuffix):
		return detailOEMInitiate
	}
	s.mu.Lock()
	p := s.failureRate
	s.mu.Unlock()
	if p <= 0 || rand.Float64() >= p {
		return ""
	}
	if rand.IntN(2) == 0 {
		return detailOEMSend
	}
	return detailOEMInitiate
}

func (s *Server) accept(w http.ResponseWriter, vin, command string) {
	now := s.now()
	rec := &record{id: uuid.NewString(), vin: vin, command: command, status: StatusPending, created: now, updated: now}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		jsonreply.Detail(w, http.StatusServiceUnavailable, "Service is shutting down.")
		return
	case s.inFlight >= maxInFlight:
		s.mu.Unlock()
		jsonreply.Detail(w, http.StatusTooManyRequests, "Too many commands in flight.")
		return
	}
	s.records[rec.id] = rec
	s.order = append(s.order, rec.id)
	for len(s.order) > maxRecords {
		delete(s.records, s.order[0])
		s.order = s.order[1:]
	}
	s.inFlight++
	s.wg.Add(1) // under mu with closed false, so never after Close's Wait began
	s.mu.Unlock()

	go s.run(rec.id, vin, command)
	s.log.Info("command accepted", "id", rec.id, "vin", vin, "command", command)
	jsonreply.Write(w, http.StatusOK, map[string]string{
		"id":      rec.id,
		"vin":     vin,
		"command": command,
		"status":  StatusPending,
		"created": formatTime(now),
	})
}

// run waits the delay, applies the command and records the outcome.
func (s *Server) run(id, vin, command string) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return
	case <-t.C:
	}

	status := StatusSuccess
	data, err := s.apply(vin, command)
	var detail []byte
	if err == nil {
		// What the vehicle returned, and when it executed the command, in
		// mobway's UTC-3 wall clock ("date_time": every documented success
		// detail has one).
		out := make(map[string]any, len(data)+1)
		for k, v := range data {
			out[k] = v
		}
		out["date_time"] = formatTime(s.now())
		detail, err = json.Marshal(out)
	}
	if err != nil {
		status = StatusError
		detail, _ = json.Marshal(err.Error()) // a string always marshals
	}
	s.mu.Lock()
	if rec, ok := s.records[id]; ok {
		rec.status, rec.detail, rec.updated = status, detail, s.now()
	}
	s.mu.Unlock()
	s.log.Info("command finished", "id", id, "vin", vin, "command", command, "status", status)
}

type statusBody struct {
	ID      string          `json:"id"`
	VIN     string          `json:"vin"`
	Command string          `json:"command"`
	Status  string          `json:"status"`
	Detail  json.RawMessage `json:"detail"`
	Created string          `json:"created"`
	Updated string          `json:"updated"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		jsonreply.Detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	rec, ok := s.records[r.PathValue("id")]
	var body statusBody
	if ok {
		body = statusBody{
			ID: rec.id, VIN: rec.vin, Command: rec.command, Status: rec.status,
			Detail: rec.detail, Created: formatTime(rec.created), Updated: formatTime(rec.updated),
		}
	}
	s.mu.Unlock()
	if !ok {
		jsonreply.Detail(w, http.StatusNotFound, detailUnknownID)
		return
	}
	if body.Detail == nil {
		// mobway: "an empty object while the command is still Pending".
		body.Detail = json.RawMessage("{}")
	}
	jsonreply.Write(w, http.StatusOK, body)
}

// refuse answers a documented error and logs it without secrets.
func (s *Server) refuse(w http.ResponseWriter, status int, detail, vin, command string) {
	s.log.Info("command refused", "vin", vin, "command", command, "http_status", status, "detail", detail)
	jsonreply.Detail(w, status, detail)
}

func formatTime(t time.Time) string { return t.In(utcMinus3).Format(timeLayout) }
