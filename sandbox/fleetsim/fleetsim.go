// Package fleetsim simulates High Mobility's fleet API (documents 000 and 001,
// design.md §4) on net/http: service-account auth tokens, OAuth2 client
// credentials, fleet clearance with its asynchronous state machine,
// eligibility, and the documented rate limit. It is written from the
// documents, not from fleetdeck's client, so the two check each other.
//
// Rules the documents leave open, and what the simulator does:
//
//   - Assertion (POST /auth_tokens, JSON {"assertion"}, or the same field
//     form- or multipart-encoded as in the Node example): ES256 only; a typ
//     header other than "JWT" is refused; iss must be a known service account;
//     aud must be a plain string equal to the base URL (a trailing "/" is
//     ignored) — an array aud is refused, because the documents show a string
//     and High Mobility compares it as one; iat must be an integer (not a
//     string, not a fraction) within ±30 s of now; jti must be a UUID in its
//     36-character form and is single-use (remembered while its iat is still
//     acceptable); ver must be 1 or 2 (the prose says 1, the code example 2).
//     A request without a readable assertion gets 400, an assertion that fails
//     verification 401.
//   - Tokens are opaque and live TokenTTL (default 5 min); valid_from and
//     valid_until are formatted "2006-01-02T15:04:05" in UTC.
//   - POST /access_tokens (OAuth2), JSON or form-encoded:
//     grant_type=client_credentials with client_id and client_secret (or HTTP
//     Basic), or with client_id and a client_assertion JWT signed by one of
//     the client's OAuth2 keys (ClientKeys), verified like an assertion (aud =
//     base URL or the token endpoint). Errors are OAuth2's {error,
//     error_description}.
//   - Every other route needs "Authorization: Bearer <token>". GET
//     /fleets/vehicles/{vin}, the one route the OpenAPI file gives a limit,
//     counts against a rolling 60-requests-a-minute budget per client
//     (service account or client id, not per token, so fetching new tokens
//     does not reset it).
//   - DELETE of a pending clearance (cancel) works for the brands High
//     Mobility lists (Mercedes-Benz, Volkswagen, Audi, Skoda, SEAT, CUPRA and
//     the Stellantis brands); any other brand gets 422 "not supported".
//   - Clearance: an added VIN is pending for TransitionDelay plus up to half of
//     it again (jitter), then approved — or rejected when its last three
//     characters are "000" ("vehicle not found at OEM"), or when it is a
//     mercedes-benz whose odometer value is 0 ("odometer reading does not match
//     the vehicle"). Revoke and cancel take the same delay. Transitions are
//     computed from timestamps whenever the state is read: no goroutines.
//   - VINs: 17 characters of [A-HJ-NPR-Z0-9]; brand "sandbox" also accepts the
//     emulator VINs containing I, O or Q (document 000's example has an O).
//   - Eligibility: see eligibility.go.
package fleetsim

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// TimeFormat is how the API writes timestamps (document 000's examples).
const TimeFormat = "2006-01-02T15:04:05"

// Defaults for zero Options fields.
const (
	DefaultTokenTTL        = 5 * time.Minute
	DefaultTransitionDelay = 3 * time.Second
	DefaultRateLimit       = 60 // requests per client per rolling minute (documented limit)
	// IATSkew is the documented clock-skew tolerance for assertion iat.
	IATSkew = 30 * time.Second
)

// Status is a clearance status; StatusError only appears in POST results.
type Status string

// Clearance statuses (hm-fleet-clearance-v1).
const (
	StatusApproved  Status = "approved"
	StatusPending   Status = "pending"
	StatusRevoking  Status = "revoking"
	StatusRevoked   Status = "revoked"
	StatusRejected  Status = "rejected"
	StatusCanceling Status = "canceling"
	StatusCanceled  Status = "canceled"
	StatusError     Status = "error"
)

// BrandMercedesBenz needs an odometer control measure.
const BrandMercedesBenz = "mercedes-benz"

// brands is High Mobility's published brand enum.
var brands = []string{
	"bmw", "citroen", "ds", "mercedes-benz", "mini", "opel", "peugeot", "vauxhall", "jeep", "fiat",
	"alfaromeo", "ford", "renault", "dacia", "toyota", "lexus", "porsche", "maserati", "kia", "tesla",
	"volvo-cars", "skoda", "audi", "volkswagen", "seat", "cupra", "polestar", "nissan", "sandbox",
}

// Brands returns the brands the simulator accepts.
func Brands() []string { return slices.Clone(brands) }

func knownBrand(b string) bool { return slices.Contains(brands, b) }

// cancelBrands are the brands whose pending activation can be canceled
// (hm-fleet-clearance-v1.yml: "Mercedes-Benz, Volkswagen, Audi, Skoda, SEAT,
// CUPRA and the Stellantis brands").
var cancelBrands = []string{
	BrandMercedesBenz, "volkswagen", "audi", "skoda", "seat", "cupra",
	// Stellantis
	"peugeot", "citroen", "ds", "opel", "vauxhall", "fiat", "jeep", "alfaromeo", "lancia", "maserati",
	"abarth", "chrysler", "dodge", "ram",
}

// CanCancel reports whether a pending clearance of brand can be canceled.
func CanCancel(brand string) bool { return slices.Contains(cancelBrands, brand) }

// Options configure a Server.
type Options struct {
	// BaseURL is the URL the handler is reachable at (".../hm/v1"); assertions
	// must carry it as aud. Empty means every assertion is refused.
	BaseURL string
	// PublicKeys maps a service account id (the JWT iss) to its public key.
	PublicKeys map[string]*ecdsa.PublicKey
	// ClientID and ClientSecret enable OAuth2 client credentials ("" disables).
	ClientID, ClientSecret string
	// ClientKeys are the public halves of ClientID's OAuth2 private keys, by
	// key id (the client_assertion's iss).
	ClientKeys      map[string]*ecdsa.PublicKey
	TokenTTL        time.Duration // default 5 min
	TransitionDelay time.Duration // default 3 s
	RateLimit       int           // per client per minute, default 60; <0 disables
	Logger          *slog.Logger
	Now             func() time.Time // default time.Now
}

// Vehicle is a fleet entry as Seed takes it.
type Vehicle struct {
	VIN, Brand string
	Status     Status
	Reason     string   // why it was rejected (added to the last changelog entry when that has none)
	Changelog  []Change // oldest first; when empty, one entry for Status at Seed time
	Tags       map[string]string
	// Settle is how long a seeded pending/revoking/canceling vehicle stays in
	// that state: 0 means TransitionDelay, negative means until it is acted on
	// (real OEM activations can take days).
	Settle time.Duration
}

// Change is one changelog entry.
type Change struct {
	Timestamp time.Time
	Status    Status
	Reason    string
}

// Active is an approved vehicle and the pseudonym of its current activation.
type Active struct {
	VIN, Brand string
	Pseudonym  string // 40 lowercase hex characters, new for every activation
	Tags       map[string]string
}

// Server is the simulated fleet API. It starts no goroutines.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler http.Handler

	mu       sync.Mutex
	order    []*record          // insertion order: what GET lists
	byVIN    map[string]*record //
	inflight map[string]*record // records with a scheduled transition
	tokenTTL time.Duration

	auth authState
}

type record struct {
	vin, brand string
	status     Status
	changelog  []Change
	tags       map[string]string
	odometer   *odometer
	pseudonym  string
	next       *transition
}

type transition struct {
	at     time.Time
	to     Status
	reason string
}

// New returns a Server; its handler is meant to be mounted under /hm/v1 with
// http.StripPrefix.
func New(o Options) *Server {
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.TransitionDelay <= 0 {
		o.TransitionDelay = DefaultTransitionDelay
	}
	if o.RateLimit == 0 {
		o.RateLimit = DefaultRateLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     o,
		log:      log,
		byVIN:    make(map[string]*record),
		inflight: make(map[string]*record),
		tokenTTL: o.TokenTTL,
		auth:     newAuthState(),
	}
	s.handler = s.routes()
	return s
}

// Handler serves the API with paths relative to the base URL (/auth_tokens,
// /fleets/vehicles, ...).
func (s *Server) Handler() http.Handler { return s.handler }

// SetTokenTTL changes the lifetime of tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultTokenTTL
	}
	s.mu.Lock()
	s.tokenTTL = d
	s.mu.Unlock()
}

func (s *Server) ttl() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenTTL
}

// Seed adds vehicles as given, replacing entries with the same VIN. Seeded
// transitional states settle after their Settle duration.
func (s *Server) Seed(vs []Vehicle) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		r := &record{vin: v.VIN, brand: v.Brand, status: v.Status, tags: cloneTags(v.Tags)}
		r.changelog = slices.Clone(v.Changelog)
		if len(r.changelog) == 0 {
			r.changelog = []Change{{Timestamp: now, Status: v.Status}}
		}
		if last := &r.changelog[len(r.changelog)-1]; last.Reason == "" && v.Reason != "" {
			last.Reason = v.Reason
		}
		if v.Status == StatusApproved || v.Status == StatusRevoking {
			r.pseudonym = newPseudonym()
		}
		if old, ok := s.byVIN[v.VIN]; ok {
			i := slices.Index(s.order, old)
			s.order[i] = r
		} else {
			s.order = append(s.order, r)
		}
		s.byVIN[v.VIN] = r
		delete(s.inflight, v.VIN)
		if v.Settle >= 0 {
			delay := v.Settle
			if delay == 0 {
				delay = s.opts.TransitionDelay
			}
			if to, reason, ok := settlesTo(r); ok {
				s.schedule(r, transition{at: now.Add(delay), to: to, reason: reason})
			}
		}
	}
}

// settlesTo is where a transitional state ends.
func settlesTo(r *record) (Status, string, bool) {
	switch r.status {
	case StatusPending:
		to, reason := verdict(r)
		return to, reason, true
	case StatusRevoking:
		return StatusRevoked, "", true
	case StatusCanceling:
		return StatusCanceled, "", true
	}
	return "", "", false
}

// verdict decides a pending activation, deterministically so tests and demos
// can rely on it.
func verdict(r *record) (Status, string) {
	if strings.HasSuffix(r.vin, "000") {
		return StatusRejected, "vehicle not found at OEM"
	}
	if r.brand == BrandMercedesBenz && r.odometer != nil && r.odometer.Value == 0 {
		return StatusRejected, "odometer reading does not match the vehicle"
	}
	return StatusApproved, ""
}

func (s *Server) schedule(r *record, t transition) {
	r.next = &t
	s.inflight[r.vin] = r
}

// scheduleAfterDelay schedules r's next state TransitionDelay plus jitter from now.
func (s *Server) scheduleAfterDelay(r *record, now time.Time) {
	to, reason, ok := settlesTo(r)
	if !ok {
		return
	}
	d := s.opts.TransitionDelay
	d += time.Duration(randInt64N(int64(d)/2 + 1))
	s.schedule(r, transition{at: now.Add(d), to: to, reason: reason})
}

// advance applies every transition due by now. Callers hold s.mu.
func (s *Server) advance(now time.Time) {
	for vin, r := range s.inflight {
		if r.next == nil {
			delete(s.inflight, vin)
			continue
		}
		if r.next.at.After(now) {
			continue
		}
		t := *r.next
		r.next = nil
		delete(s.inflight, vin)
		s.setStatus(r, t.at, t.to, t.reason)
	}
}

func (s *Server) setStatus(r *record, at time.Time, to Status, reason string) {
	r.status = to
	r.changelog = append(r.changelog, Change{Timestamp: at, Status: to, Reason: reason})
	switch to {
	case StatusApproved:
		r.pseudonym = newPseudonym()
	case StatusRevoked, StatusCanceled, StatusRejected, StatusPending:
		r.pseudonym = ""
	}
	s.log.Debug("fleetsim: clearance changed", "vin", r.vin, "status", string(to))
}

// Approved returns the approved vehicles in fleet order.
func (s *Server) Approved() []Active {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	out := make([]Active, 0, len(s.order))
	for _, r := range s.order {
		if r.status == StatusApproved {
			out = append(out, Active{VIN: r.vin, Brand: r.brand, Pseudonym: r.pseudonym, Tags: cloneTags(r.tags)})
		}
	}
	return out
}

// Known reports whether vin is in the fleet and approved: the vehicles a
// company may send commands to.
func (s *Server) Known(vin string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	r, ok := s.byVIN[vin]
	return ok && r.status == StatusApproved
}

// Status returns vin's current clearance status ("" when unknown).
func (s *Server) Status(vin string) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	if r, ok := s.byVIN[vin]; ok {
		return r.status
	}
	return ""
}

func newPseudonym() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func cloneTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
