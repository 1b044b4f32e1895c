package sandbox

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/broker"
	"github.com/fleetdeck/fleetdeck/sandbox/commandsim"
	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
	"github.com/fleetdeck/fleetdeck/sandbox/platformsim"
)

// Faults makes a running sandbox misbehave the ways real services do, so the
// console's handling of them can be seen and tested. Safe for concurrent use.
type Faults struct {
	latency   atomic.Int64  // time.Duration added to every HTTP request
	errorRate atomic.Uint64 // math.Float64bits of the 500 probability

	fleet    *fleetsim.Server
	platform *platformsim.Server
	broker   *broker.Broker
	commands *commandsim.Server
}

// SetLatency delays every HTTP response by d (0 turns it off).
func (f *Faults) SetLatency(d time.Duration) {
	f.latency.Store(int64(max(d, 0)))
}

// SetErrorRate makes a share p (0..1) of HTTP requests, on every API, fail
// with a 500 and an HTML body, as a misbehaving proxy in front of an API
// would.
func (f *Faults) SetErrorRate(p float64) {
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	f.errorRate.Store(math.Float64bits(min(p, 1)))
}

// Platform503Burst makes the next n MRV API requests answer 503 ("could not
// verify the key right now").
func (f *Faults) Platform503Burst(n int) { f.platform.Burst503(n) }

// RestartBroker drops every MQTT connection and session and serves again on
// the same address.
func (f *Faults) RestartBroker(ctx context.Context) error {
	if err := f.broker.Restart(ctx); err != nil {
		return fmt.Errorf("restart broker: %w", err)
	}
	return nil
}

// SetTokenTTL changes the lifetime of fleet auth tokens issued from now on.
func (f *Faults) SetTokenTTL(d time.Duration) { f.fleet.SetTokenTTL(d) }

// SetCommandFailureRate makes a share p of accepted vehicle commands fail at
// the OEM step.
func (f *Faults) SetCommandFailureRate(p float64) { f.commands.SetFailureRate(p) }

const errorPage = `<!DOCTYPE html>
<html><head><title>500 Internal Server Error</title></head>
<body><h1>Internal Server Error</h1><p>The server encountered an internal error (fleetdeck sandbox fault injection).</p></body></html>
`

// wrap applies latency and injected errors in front of every API.
func (f *Faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(f.latency.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if p := math.Float64frombits(f.errorRate.Load()); p > 0 && rand.Float64() < p {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(errorPage))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admin serves the fault switches over HTTP, for people driving
// `fleetdeck sandbox` from another terminal (curl -X POST …/_faults/…); the
// rest goes to next. It sits outside wrap, so injected latency and errors
// never hit the switches themselves.
//
//	POST /_faults/latency?d=250ms        added latency on every API response (0 ends it)
//	POST /_faults/error-rate?p=0.1       fraction of API requests answered 500 with an HTML page
//	POST /_faults/platform-503?n=5       the next n platform requests answer 503
//	POST /_faults/token-ttl?d=30s        lifetime of fleet tokens issued from now on
//	POST /_faults/broker-restart         stop the MQTT broker and start it again on its address
func (f *Faults) admin(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	param := func(w http.ResponseWriter, r *http.Request, key string, parse func(string) error) {
		if err := parse(r.URL.Query().Get(key)); err != nil {
			http.Error(w, fmt.Sprintf("%s: %v", key, err), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	mux.HandleFunc("POST /_faults/latency", func(w http.ResponseWriter, r *http.Request) {
		param(w, r, "d", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration like 250ms")
			}
			f.SetLatency(d)
			return nil
		})
	})
	mux.HandleFunc("POST /_faults/error-rate", func(w http.ResponseWriter, r *http.Request) {
		param(w, r, "p", func(v string) error {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return fmt.Errorf("want a fraction from 0 to 1")
			}
			f.SetErrorRate(p)
			return nil
		})
	})
	mux.HandleFunc("POST /_faults/platform-503", func(w http.ResponseWriter, r *http.Request) {
		param(w, r, "n", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("want a count")
			}
			f.Platform503Burst(n)
			return nil
		})
	})
	mux.HandleFunc("POST /_faults/token-ttl", func(w http.ResponseWriter, r *http.Request) {
		param(w, r, "d", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a duration like 30s")
			}
			f.SetTokenTTL(d)
			return nil
		})
	})
	mux.HandleFunc("POST /_faults/broker-restart", func(w http.ResponseWriter, r *http.Request) {
		if err := f.RestartBroker(r.Context()); err != nil {
			http.Error(w, "restart the broker: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
