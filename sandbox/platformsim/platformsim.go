// Package platformsim simulates Hummingbird's MRV API access (document 003)
// for the embedded sandbox: login for an idToken, the user's clients, an API
// token per client that is shown once and replaced (old one dead at once)
// when a new one is created, and the MRV API's ApiKey header, where 503 means
// "could not verify the key right now", not "invalid".
//
// It is written from the document, not from fleetdeck's client, so that each
// checks the other. Errors are JSON {"detail": "..."}.
package platformsim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/internal/jsonreply"
)

// ClientInfo is one entry of GET /clients.
type ClientInfo struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// Field is one entry of the MRV API's GET /fields.
type Field struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	AreaHa float64 `json:"area_ha"`
	Crop   string  `json:"crop"`
}

// DefaultClients returns the two clients of the document's example.
func DefaultClients() []ClientInfo {
	return []ClientInfo{
		{Name: "Megacorp Ltd.", UID: "98401465-c03f-42ba-a1f3-e300674523f2"},
		{Name: "Fish Island Tech.", UID: "2db4edf3-5a74-4ef6-aa51-74f80c94c429"},
	}
}

const (
	defaultIDTokenTTL = time.Hour
	maxIDTokens       = 256
	maxBody           = 16 << 10
	unverifiedDetail  = "could not verify the API key right now"
)

// Options configure a Server.
type Options struct {
	// Email and Password are the one user's credentials; empty means the
	// document's example, user@example.com / SeCrEt.
	Email, Password string
	// Clients the user belongs to; nil means DefaultClients(). The first is
	// the default client whose key Token returns.
	Clients []ClientInfo
	// Tokens presets MRV API tokens by client uid. Without a preset the
	// first client gets a fresh token, so the sandbox can hand one out.
	Tokens map[string]string
	// Fields by client uid; a client not in the map gets a few sample fields
	// (nil map: every client does).
	Fields     map[string][]Field
	IDTokenTTL time.Duration // default 1h
	Logger     *slog.Logger
	Now        func() time.Time // nil: time.Now
}

// Server is the simulated platform. Its two handlers share the tokens.
type Server struct {
	email, password string
	clients         []ClientInfo
	fields          map[string][]Field
	idTokenTTL      time.Duration
	log             *slog.Logger
	now             func() time.Time

	mu       sync.Mutex
	idTokens map[string]time.Time // idToken → expiry
	tokens   map[string]string    // client uid → current MRV token (the sandbox writes it for the console)
	byHash   map[[32]byte]string  // sha256(token) → client uid; requests are matched by hash
	burst    int                  // requests still to answer 503
}

// New returns a Server with a token for the first client (or the presets).
func New(o Options) *Server {
	s := &Server{
		email:      o.Email,
		password:   o.Password,
		clients:    slices.Clone(o.Clients),
		fields:     make(map[string][]Field),
		idTokenTTL: o.IDTokenTTL,
		log:        o.Logger,
		now:        o.Now,
		idTokens:   make(map[string]time.Time),
		tokens:     make(map[string]string),
		byHash:     make(map[[32]byte]string),
	}
	if s.email == "" && s.password == "" {
		s.email, s.password = "user@example.com", "SeCrEt"
	}
	if s.clients == nil {
		s.clients = DefaultClients()
	}
	if s.idTokenTTL <= 0 {
		s.idTokenTTL = defaultIDTokenTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for i, c := range s.clients {
		if f, ok := o.Fields[c.UID]; ok {
			s.fields[c.UID] = append([]Field{}, f...) // never null on the wire
		} else {
			s.fields[c.UID] = sampleFields(i)
		}
	}
	for uid, token := range o.Tokens {
		if !s.hasClient(uid) || token == "" {
			s.log.Warn("preset MRV token ignored: unknown client", "client_uid", uid)
			continue
		}
		s.setToken(uid, token)
	}
	if len(s.clients) > 0 && s.tokens[s.clients[0].UID] == "" {
		s.setToken(s.clients[0].UID, newAPIToken())
	}
	return s
}

// LoginHandler serves the Data Platform API (mounted under /platform/api/v1):
// POST /login, GET /clients, GET /clients/{uid}/api-token.
func (s *Server) LoginHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/login", s.handleLogin)
	mux.HandleFunc("/clients", s.handleClients)
	mux.HandleFunc("/clients/{uid}/api-token", s.handleAPIToken)
	mux.HandleFunc("/", notFound)
	return mux
}

// MRVHandler serves the MRV API (mounted under /mrv/v1): GET /fields.
func (s *Server) MRVHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/fields", s.handleFields)
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.takeBurst() {
			// what the document says a 503 means: the key was not checked
			jsonreply.Detail(w, http.StatusServiceUnavailable, unverifiedDetail)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Burst503 makes the next n MRV requests fail with 503 whatever their key;
// n <= 0 ends a burst in progress.
func (s *Server) Burst503(n int) {
	s.mu.Lock()
	s.burst = max(n, 0)
	s.mu.Unlock()
}

// Token returns the default (first) client's current MRV token, "" if none.
func (s *Server) Token() string {
	if len(s.clients) == 0 {
		return ""
	}
	return s.TokenFor(s.clients[0].UID)
}

// TokenFor returns the client's current MRV token, "" if it has none.
func (s *Server) TokenFor(clientUID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[clientUID]
}

// Close releases nothing today (no goroutines); it exists so the sandbox
// treats every simulator alike.
func (s *Server) Close() error { return nil }

func (s *Server) takeBurst() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.burst == 0 {
		return false
	}
	s.burst--
	return true
}

func (s *Server) hasClient(uid string) bool {
	return slices.ContainsFunc(s.clients, func(c ClientInfo) bool { return c.UID == uid })
}

// setToken makes token the client's only valid one; s.mu is held or s is new.
func (s *Server) setToken(uid, token string) {
	if old, ok := s.tokens[uid]; ok {
		delete(s.byHash, sha256.Sum256([]byte(old)))
	}
	s.tokens[uid] = token
	s.byHash[sha256.Sum256([]byte(token))] = uid
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	var creds struct {
		Email    *string `json:"email"`
		Password *string `json:"password"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &creds) != nil || creds.Email == nil || creds.Password == nil {
		jsonreply.Detail(w, http.StatusBadRequest, "email and password are required.")
		return
	}
	emailOK := strings.EqualFold(strings.TrimSpace(*creds.Email), s.email)
	passwordOK := subtle.ConstantTimeCompare([]byte(*creds.Password), []byte(s.password)) == 1
	if !emailOK || !passwordOK {
		s.log.Info("login refused")
		jsonreply.Detail(w, http.StatusUnauthorized, "Invalid email or password.")
		return
	}
	idToken := randomHex(32)
	now := s.now()
	s.mu.Lock()
	if len(s.idTokens) >= maxIDTokens {
		s.pruneIDTokens(now)
	}
	s.idTokens[idToken] = now.Add(s.idTokenTTL)
	s.mu.Unlock()
	s.log.Info("login")
	w.Header().Set("Cache-Control", "no-store")
	jsonreply.Write(w, http.StatusOK, map[string]string{"idToken": idToken})
}

// pruneIDTokens drops expired idTokens, then the oldest while still full;
// s.mu is held.
func (s *Server) pruneIDTokens(now time.Time) {
	for tok, exp := range s.idTokens {
		if !now.Before(exp) {
			delete(s.idTokens, tok)
		}
	}
	for len(s.idTokens) >= maxIDTokens {
		var oldest string
		var oldestExp time.Time
		for tok, exp := range s.idTokens {
			if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = tok, exp
			}
		}
		delete(s.idTokens, oldest)
	}
}

// loggedIn checks the Bearer idToken and answers 401 when it is not valid.
func (s *Server) loggedIn(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	ok := found && strings.EqualFold(scheme, "Bearer") && token != ""
	if ok {
		s.mu.Lock()
		exp, known := s.idTokens[token]
		ok = known && s.now().Before(exp)
		s.mu.Unlock()
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		jsonreply.Detail(w, http.StatusUnauthorized, "Invalid or expired idToken.")
	}
	return ok
}

func (s *Server) handleClients(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) || !s.loggedIn(w, r) {
		return
	}
	jsonreply.Write(w, http.StatusOK, s.clients)
}

// handleAPIToken creates a client's MRV token. The document uses GET for it;
// the new token replaces the old one at once and is shown only here.
func (s *Server) handleAPIToken(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) || !s.loggedIn(w, r) {
		return
	}
	uid := r.PathValue("uid")
	if !s.hasClient(uid) {
		jsonreply.Detail(w, http.StatusNotFound, "Client not found.")
		return
	}
	token := newAPIToken()
	s.mu.Lock()
	s.setToken(uid, token)
	s.mu.Unlock()
	s.log.Info("MRV API token created; the previous one is invalid", "client_uid", uid)
	w.Header().Set("Cache-Control", "no-store")
	jsonreply.Write(w, http.StatusOK, map[string]string{"token": token, "client_uid": uid})
}

func (s *Server) handleFields(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	key := apiKey(r.Header)
	if key == "" {
		jsonreply.Detail(w, http.StatusUnauthorized, "Missing ApiKey header.")
		return
	}
	s.mu.Lock()
	uid, ok := s.byHash[sha256.Sum256([]byte(key))]
	s.mu.Unlock()
	if !ok {
		s.log.Info("MRV request with an invalid API key")
		jsonreply.Detail(w, http.StatusUnauthorized, "Invalid API key.")
		return
	}
	jsonreply.Write(w, http.StatusOK, s.fields[uid])
}

// apiKey reads the ApiKey header in any spelling: a server canonicalizes it
// to "Apikey", but a handler called directly may see the map key "ApiKey".
func apiKey(h http.Header) string {
	if v := h.Get("ApiKey"); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, "ApiKey") && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}

// newAPIToken returns 40 lower-case hex digits, the shape of the document's token.
func newAPIToken() string { return randomHex(20) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// sampleFields gives the i-th client a few plausible farm fields.
func sampleFields(i int) []Field {
	sets := [][]Field{
		{
			{ID: "3f1c2a9e-7b4d-4c1e-9a52-6d0e8b7f1a01", Name: "North Paddock", AreaHa: 42.7, Crop: "winter wheat"},
			{ID: "3f1c2a9e-7b4d-4c1e-9a52-6d0e8b7f1a02", Name: "Mill Lane", AreaHa: 18.3, Crop: "oilseed rape"},
			{ID: "3f1c2a9e-7b4d-4c1e-9a52-6d0e8b7f1a03", Name: "Long Acre", AreaHa: 27.9, Crop: "spring barley"},
		},
		{
			{ID: "b8e4d6f2-1a3c-4e5b-8f70-2c9d4a6e3b11", Name: "Talhão 7 – Fazenda Boa Vista", AreaHa: 120.5, Crop: "soybean"},
			{ID: "b8e4d6f2-1a3c-4e5b-8f70-2c9d4a6e3b12", Name: "Várzea Sul", AreaHa: 64.2, Crop: "maize"},
		},
	}
	return slices.Clone(sets[i%len(sets)])
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	jsonreply.Detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	return false
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	jsonreply.Detail(w, http.StatusNotFound, "Not Found")
}
