package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
)

// attached is a client of an attach server, collecting what it gets.
type attached struct {
	mu       sync.Mutex
	messages []string
	states   []string
	dropped  int
	done     chan error
}

func (a *attached) lines() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.messages...)
}

func attach(t *testing.T, ctx context.Context, path string, req AttachRequest, slow <-chan struct{}) *attached {
	t.Helper()
	a := &attached{done: make(chan error, 1)}
	go func() {
		a.done <- Attach(ctx, path, req, AttachHandler{
			Message: func(line []byte) bool {
				if slow != nil {
					<-slow
				}
				a.mu.Lock()
				a.messages = append(a.messages, string(line))
				a.mu.Unlock()
				return true
			},
			State: func(s string) {
				a.mu.Lock()
				a.states = append(a.states, s)
				a.mu.Unlock()
			},
			Dropped: func(n int) {
				a.mu.Lock()
				a.dropped += n
				a.mu.Unlock()
			},
		})
	}()
	return a
}

// serveAttach runs an attach server on a socket in a fresh directory. The
// test must end ctx before it returns: then the server, its clients'
// goroutines and the test's own clients must all be gone.
func serveAttach(t *testing.T, ctx context.Context) (*AttachServer, string) {
	t.Helper()
	before := leaktest.Count()
	path := filepath.Join(t.TempDir(), "run", "telemetry.sock")
	ln, err := ListenAttach(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewAttachServer(nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the socket is still there after Serve: %v", err)
		}
		leaktest.Wait(t, before)
	})
	return srv, path
}

// `telemetry tail --attach` reads the ops box's decoded stream: the same
// lines tail would print itself, filtered as asked, through a socket only
// the owner can open.
func TestAttachServesTheDecodedStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, path := serveAttach(t, ctx)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket 0600", fi.Mode())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", di.Mode().Perm())
	}
	if _, err := ListenAttach(path); err == nil || !strings.Contains(err.Error(), "another process serves its stream there") {
		t.Errorf("a second server on the same socket: %v", err)
	}

	text := attach(t, ctx, path, AttachRequest{}, nil)
	json := attach(t, ctx, path, AttachRequest{JSON: true, Capability: "charging"}, nil)
	waitFor(t, 5*time.Second, "two clients", func() bool { return srv.attached.Load() == 2 })

	var want, wantJSON []string
	p := NewPipeline(PipelineOptions{
		Replay:  writeRecording(t, sampleRecording(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), time.Second)),
		OnState: srv.State,
		OnMessage: func(m *Message) {
			want = append(want, string(m.AppendText(nil)))
			if m.Capability == "charging" {
				wantJSON = append(wantJSON, string(m.AppendJSON(nil)))
			}
			srv.Publish(m)
		},
	})
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the messages and the end", func() bool {
		text.mu.Lock()
		stopped := len(text.states) > 0 && strings.HasPrefix(text.states[len(text.states)-1], "stopped")
		text.mu.Unlock()
		return stopped && len(text.lines()) == len(want) && len(json.lines()) == len(wantJSON)
	})
	if got := text.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 2 {
		t.Errorf("text lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := json.lines(); strings.Join(got, "\n") != strings.Join(wantJSON, "\n") || len(wantJSON) != 1 {
		t.Errorf("JSON lines filtered to charging:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantJSON, "\n"))
	}
	text.mu.Lock()
	states := strings.Join(text.states, "; ")
	text.mu.Unlock()
	if !strings.HasPrefix(states, "connecting") || !strings.Contains(states, "replaying") || !strings.Contains(states, "stopped") {
		t.Errorf("states %q", states)
	}

	// The server going away ends the clients with a clear error.
	cancel()
	for _, a := range []*attached{text, json} {
		select {
		case err := <-a.done:
			if err != nil && !errors.Is(err, ErrAttachEnded) {
				t.Errorf("client after the server stopped: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a client did not notice the server stopping")
		}
	}
}

// A client that does not keep up loses messages, not the server's time,
// and is told how many.
func TestAttachSlowClientIsToldOfDrops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, path := serveAttach(t, ctx)
	slow := make(chan struct{})
	a := attach(t, ctx, path, AttachRequest{}, slow)
	waitFor(t, 5*time.Second, "the client", func() bool { return srv.attached.Load() == 1 })

	const n = 8 * attachQueue // more than the queue and the socket's buffers hold
	var recs []recLine
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		recs = append(recs, recLine{T: start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
			Topic:   topicFor("WBA12345678901234", "diagnostics", "odometer"),
			Payload: payloadFor(fmt.Sprint(i), "WBA12345678901234", "diagnostics", "odometer", fmt.Sprintf(`{"unit":"kilometers","value":%d}`, i), "2024-05-01T10:33:10Z")})
	}
	p := NewPipeline(PipelineOptions{Replay: writeRecording(t, recs), OnMessage: srv.Publish})
	began := time.Now()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("a stuck client held the pipeline for %v", d)
	}
	close(slow)
	waitFor(t, 10*time.Second, "the drop notice", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.dropped > 0 && a.dropped+len(a.messages) == n
	})
	a.mu.Lock()
	t.Logf("%d messages: %d delivered, %d dropped", n, len(a.messages), a.dropped)
	a.mu.Unlock()
}

// A socket left behind by a crash is replaced; a file that is not a socket
// is not touched; a path too long for a socket is refused clearly.
func TestListenAttachStaleAndWrong(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // nobody listens any more, the file stays
	l2, err := ListenAttach(stale)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	l2.Close()

	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenAttach(plain); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a plain file: %v", err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "keep" {
		t.Error("the plain file was changed")
	}
	if _, err := ListenAttach(filepath.Join(dir, strings.Repeat("x", 120), "s.sock")); err == nil || !strings.Contains(err.Error(), "choose a shorter one") {
		t.Errorf("a path too long: %v", err)
	}
}
