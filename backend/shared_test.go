package backend

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fakeFleet is the fleet API with OAuth2 client credentials; it counts the
// clearance lists it serves.
func fakeFleet(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var lists atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/access_tokens":
			w.Write([]byte(`{"access_token":"tok","expires_in":3600,"token_type":"bearer"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/fleets/vehicles":
			lists.Add(1)
			w.Write([]byte(`[{"vin":"WBADT43452G296403","brand":"bmw","status":"approved","changelog":[]}]`))
		default:
			http.Error(w, "unexpected", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &lists
}

// box is one ops box: its own journal connection and backend.
type box struct {
	b    *Backend
	stop context.CancelFunc
	done chan struct{}
}

func startBox(t *testing.T, dsn, fleetURL, name string, every time.Duration) *box {
	t.Helper()
	j, err := audit.OpenConfig(t.Context(), config.Audit{DSN: dsn}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Fleet: &config.Fleet{BaseURL: fleetURL, ClientID: "ops", Audience: fleetURL, JWTVersion: 1, PollInterval: every}}
	b, err := Build(cfg, Options{Journal: j, Box: name})
	if err != nil {
		t.Fatal(err)
	}
	if b.Shared == nil {
		t.Fatal("a PostgreSQL journal did not share the clearance poll")
	}
	ctx, cancel := context.WithCancel(context.Background())
	bx := &box{b: b, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(bx.done)
		b.Run(ctx)
	}()
	t.Cleanup(func() { bx.kill(); j.Close() })
	return bx
}

// kill stops the box as a crash would: its connections close, and with
// them the poller's lock.
func (bx *box) kill() {
	bx.stop()
	<-bx.done
}

// poll has callers on the box ask for the list like console sessions do,
// until ctx ends, and counts the answers that had the vehicle.
func poll(ctx context.Context, bx *box, callers int, ok, bad *atomic.Int32) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				vs, err := bx.b.Lister.List(ctx, nil)
				switch {
				case err == nil && len(vs) == 1:
					ok.Add(1)
				case ctx.Err() == nil:
					bad.Add(1)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	return &wg
}

func TestBoxesShareOneClearancePoller(t *testing.T) {
	// Run's work (the stream and its socket, the shared poll's election,
	// the journal's LISTEN loop) must end with its context.
	leaktest.Check(t)
	t.Setenv(config.EnvFleetClientSecret, "secret")
	dsn := pgtest.DB(t)
	srv, lists := fakeFleet(t)
	const every = 500 * time.Millisecond
	b1 := startBox(t, dsn, srv.URL, "box1", every)
	b2 := startBox(t, dsn, srv.URL, "box2", every)

	var ok, bad atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	w1, w2 := poll(ctx, b1, 3, &ok, &bad), poll(ctx, b2, 3, &ok, &bad)
	// Let the election settle, then count over a measured window.
	deadline := time.Now().Add(5 * time.Second)
	for lists.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	from, start := lists.Load(), time.Now()
	time.Sleep(4 * time.Second)
	calls, window := lists.Load()-from, time.Since(start)

	// One poller for both boxes: one call per interval. Each box polling
	// for itself would make twice as many.
	if max := int32(window/every) + 2; calls > max || calls < int32(window/every)-2 {
		t.Errorf("%d upstream lists in %v at one per %v for two boxes, want about %d", calls, window.Round(time.Millisecond), every, window/every)
	}
	if b1.b.Shared.Leading() == b2.b.Shared.Leading() {
		t.Fatalf("leading: box1 %v, box2 %v; want exactly one", b1.b.Shared.Leading(), b2.b.Shared.Leading())
	}
	if ok.Load() < 20 || bad.Load() != 0 {
		t.Fatalf("sessions got %d lists and %d failures", ok.Load(), bad.Load())
	}

	// Kill the poller: the other box takes over.
	poller, other, otherWait := b1, b2, w2
	if b2.b.Shared.Leading() {
		poller, other, otherWait = b2, b1, w1
	}
	poller.kill()
	killedAt := lists.Load()
	deadline = time.Now().Add(10 * time.Second)
	for !other.b.Shared.Leading() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !other.b.Shared.Leading() {
		t.Fatal("no box took over polling after the poller died")
	}
	t.Logf("took over after the poller died")
	time.Sleep(2 * time.Second)
	if got := lists.Load() - killedAt; got < 2 {
		t.Errorf("after the takeover: %d upstream lists in 2 s, want about 4", got)
	}
	okBefore := ok.Load()
	time.Sleep(500 * time.Millisecond)
	if ok.Load() == okBefore {
		t.Error("the surviving box's sessions stopped getting the list")
	}
	cancel()
	otherWait.Wait()
	if poller == b1 {
		w1.Wait()
	} else {
		w2.Wait()
	}
}
