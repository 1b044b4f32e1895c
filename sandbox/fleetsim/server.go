package fleetsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
)

// apiError is one entry of the API's {"errors":[...]} body.
type apiError struct {
	Title  string `json:"title"`
	Source string `json:"source,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, map[string][]apiError{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

const unauthorizedDetail = "Missing or invalid authorization header. The token must be obtained through the service account API and sent as a header with the format \"Authorization: Bearer <token>\""

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/auth_tokens", methods{http.MethodPost: s.authTokens}.serve)
	mux.HandleFunc("/access_tokens", methods{http.MethodPost: s.accessTokens}.serve)
	mux.Handle("/fleets/vehicles", s.authed(methods{http.MethodGet: s.list, http.MethodPost: s.add}))
	mux.Handle("/fleets/vehicles/{vin}", s.authed(methods{http.MethodGet: s.limited(s.get), http.MethodDelete: s.remove}))
	mux.Handle("/eligibility", s.authed(methods{http.MethodPost: s.eligibility}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, apiError{Title: "Not found", Source: "path", Detail: "no such endpoint: " + clip(r.URL.Path)})
	})
	return mux
}

// methods dispatches on the request method and answers 405 in the API's
// error format (the mux's own 405 is plain text).
type methods map[string]http.HandlerFunc

func (m methods) serve(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	for method := range m {
		w.Header().Add("Allow", method)
	}
	writeErrors(w, http.StatusMethodNotAllowed, apiError{Title: "Method not allowed", Source: "method", Detail: r.Method + " is not supported here"})
}

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.serve(w, r) }

type clientKey struct{}

// authed requires a live bearer token; the client it was issued to travels
// in the request's context for the rate limit.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, ok := s.tokenClient(bearerValue(r.Header.Get("Authorization")), s.opts.Now())
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fleetsim"`)
			writeErrors(w, http.StatusUnauthorized, apiError{Title: "Not authorized", Source: "Authorization", Detail: unauthorizedDetail})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, client)))
	})
}

// limited applies the documented 60 calls a minute (per application) to a
// route behind authed.
func (s *Server) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		client, _ := r.Context().Value(clientKey{}).(string)
		if ok, wait := s.auth.admit(client, s.opts.RateLimit, s.opts.Now()); !ok {
			secs := int64(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			writeErrors(w, http.StatusTooManyRequests, apiError{Title: "Too many requests", Source: "Authorization",
				Detail: fmt.Sprintf("rate limit of %d requests per minute exceeded, retry in %d seconds", s.opts.RateLimit, secs)})
			return
		}
		next(w, r)
	}
}

// randInt64N is jitter, which need not be reproducible.
func randInt64N(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}
