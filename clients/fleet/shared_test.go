package fleet

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSharedListerOneUpstreamCallForManyCallers(t *testing.T) {
	f := newFakeHM(t)
	var lists atomic.Int32
	release := make(chan struct{})
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/fleets/vehicles" && r.URL.RawQuery == "":
			lists.Add(1)
			<-release
			writeJSON(w, 200, `[{"vin":"WBADT43452G296403","brand":"bmw","status":"approved","changelog":[{"status":"approved","timestamp":"2022-03-22T10:36:51Z"}],"tags":{"a":"b"}}]`)
		case r.Method == http.MethodGet && r.URL.Path == "/fleets/vehicles":
			writeJSON(w, 200, `[]`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	var clock sync.Mutex
	s := NewSharedLister(f.client(), 10*time.Second)
	s.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }

	// Ten sessions poll at once: one upstream call.
	const n = 10
	var wg sync.WaitGroup
	results := make([][]Vehicle, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = s.List(context.Background(), nil) })
	}
	deadline := time.Now().Add(5 * time.Second)
	for lists.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let every caller join the one call
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || len(results[i]) != 1 {
			t.Fatalf("caller %d: %v, %d vehicles", i, errs[i], len(results[i]))
		}
	}
	if got := lists.Load(); got != 1 {
		t.Errorf("%d upstream lists for %d concurrent callers, want 1", got, n)
	}

	// Each caller owns its copy.
	results[0][0].VIN = "CHANGED"
	results[0][0].Changelog[0].Reason = "changed"
	results[0][0].Tags["a"] = "changed"
	again, err := s.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := again[0]; v.VIN != "WBADT43452G296403" || v.Changelog[0].Reason != "" || v.Tags["a"] != "b" {
		t.Errorf("a caller's edit reached the cache: %+v", v)
	}

	// Within ttl: cached. After: one more call.
	advance(9 * time.Second)
	if _, err := s.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := lists.Load(); got != 1 {
		t.Errorf("within ttl: %d upstream lists, want 1", got)
	}
	advance(2 * time.Second)
	if _, err := s.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := lists.Load(); got != 2 {
		t.Errorf("after ttl: %d upstream lists, want 2", got)
	}

	// A mutation drops the cache at once.
	if err := s.Delete(context.Background(), "WBADT43452G296403"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := lists.Load(); got != 3 {
		t.Errorf("after Delete: %d upstream lists, want 3", got)
	}

	// A filtered list is not shared.
	if _, err := s.List(context.Background(), &Filter{Brand: "bmw"}); err != nil {
		t.Fatal(err)
	}
	if got := lists.Load(); got != 3 {
		t.Errorf("a filtered list touched the shared one: %d", got)
	}
}

func TestSharedListerCallerLeavingDoesNotFailOthers(t *testing.T) {
	f := newFakeHM(t)
	release := make(chan struct{})
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		<-release
		writeJSON(w, 200, `[]`)
	}
	s := NewSharedLister(f.client(), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := s.List(ctx, nil)
		first <- err
	}()
	time.Sleep(20 * time.Millisecond)
	second := make(chan error, 1)
	go func() {
		_, err := s.List(context.Background(), nil)
		second <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-first; err == nil {
		t.Error("the caller that left got no error")
	}
	close(release)
	select {
	case err := <-second:
		if err != nil {
			t.Errorf("the caller that stayed failed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller that stayed never got its list")
	}
}

// With Share, the list comes from the source (another box's poll) and the
// API is called only for mutations, which are announced.
func TestSharedListerShareTakesTheListFromTheSource(t *testing.T) {
	f := newFakeHM(t)
	var lists, deletes atomic.Int32
	f.api = func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.Method {
		case http.MethodGet:
			lists.Add(1)
			writeJSON(w, 200, `[]`)
		case http.MethodDelete:
			deletes.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}
	}
	s := NewSharedLister(f.client(), time.Millisecond)
	var sourced, changed atomic.Int32
	s.Share(func(ctx context.Context) ([]Vehicle, error) {
		sourced.Add(1)
		return []Vehicle{{VIN: "WBADT43452G296403", Status: StatusApproved}}, nil
	}, func() { changed.Add(1) })
	vs, err := s.List(context.Background(), nil)
	if err != nil || len(vs) != 1 || vs[0].VIN != "WBADT43452G296403" {
		t.Fatalf("list: %+v (%v)", vs, err)
	}
	if err := s.Delete(context.Background(), "WBADT43452G296403"); err != nil {
		t.Fatal(err)
	}
	if sourced.Load() != 1 || changed.Load() != 1 || lists.Load() != 0 || deletes.Load() != 1 {
		t.Errorf("source %d, changed %d, upstream lists %d, deletes %d; want 1, 1, 0, 1",
			sourced.Load(), changed.Load(), lists.Load(), deletes.Load())
	}
}
