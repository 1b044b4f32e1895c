package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

// attachFixture is a config whose broker nobody runs, and an attach server
// at the socket `fleetdeck serve` would use for it.
type attachFixture struct {
	cfgPath, socket string
	srv             *stream.AttachServer
	stop            context.CancelFunc
	served          chan error
}

func newAttachFixture(t *testing.T) *attachFixture {
	t.Helper()
	isolate(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	f := &attachFixture{cfgPath: filepath.Join(t.TempDir(), "config.toml"), served: make(chan error, 1)}
	// Nothing listens on port 9: tail connecting on its own would print
	// nothing but "connecting".
	if err := os.WriteFile(f.cfgPath, []byte("[telemetry]\nbroker = \"tcp://127.0.0.1:9\"\napp_id = \"APP\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f.cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	f.socket = streamSocketPath(cfg)
	ln, err := stream.ListenAttach(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = stream.NewAttachServer(nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	go func() { f.served <- f.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-f.served
	})
	return f
}

// publish plays a recording of three messages into the server once want
// clients are attached.
func (f *attachFixture) publish(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.Clients() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients attached, want %d", f.srv.Clients(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var rec strings.Builder
	for i, p := range [][2]string{{"diagnostics", "odometer"}, {"charging", "battery_level"}, {"diagnostics", "speed"}} {
		fmt.Fprintf(&rec, `{"t":"2024-05-01T10:00:0%dZ","topic":"live/level13/APP/WBA12345678901234/%s/get/%s","payload":{"message_id":"m%d","data":{%q:{%q:{"data":%d}}}}}`+"\n",
			i, p[0], p[1], i, p[0], p[1], 10+i)
	}
	path := filepath.Join(t.TempDir(), "rec.ndjson")
	if err := os.WriteFile(path, []byte(rec.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := stream.NewPipeline(stream.PipelineOptions{Replay: path, OnMessage: f.srv.Publish, OnState: f.srv.State})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// With fleetdeck serve running for the same config, tail reads the stream
// it serves instead of taking the broker's session over, and says so.
func TestTailFindsTheServedStream(t *testing.T) {
	f := newAttachFixture(t)
	done := make(chan result, 1)
	go func() { done <- run(t, "", "--config", f.cfgPath, "telemetry", "tail", "-n", "2") }()
	f.publish(t, 1)
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "WBA12345678901234 diagnostics.odometer = 10") || !strings.Contains(lines[1], "charging.battery_level") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "fleetdeck: telemetry from the running fleetdeck serve ("+f.socket+")") {
		t.Errorf("stderr does not say where the stream comes from:\n%s", r.stderr)
	}
}

// --attach names the socket; the filters and --json are the server's to
// apply, the lines are tail's own.
func TestTailAttachJSONFiltered(t *testing.T) {
	f := newAttachFixture(t)
	done := make(chan result, 1)
	go func() {
		done <- run(t, "", "telemetry", "tail", "--attach", f.socket, "--json", "--capability", "charging", "-n", "1")
	}()
	f.publish(t, 1)
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, `{"vehicle":"WBA12345678901234"`) || !strings.Contains(r.stdout, `"capability":"charging"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if strings.Contains(r.stderr, "running fleetdeck serve") {
		t.Errorf("an explicit --attach announced a discovery:\n%s", r.stderr)
	}
}

// When the serving process stops, tail says so in one line and fails.
func TestTailAttachServerGone(t *testing.T) {
	f := newAttachFixture(t)
	done := make(chan result, 1)
	go func() { done <- run(t, "", "telemetry", "tail", "--attach", f.socket) }()
	for f.srv.Clients() < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	f.stop()
	r := <-done
	if r.code != ExitFailure {
		t.Errorf("exit %d, want %d", r.code, ExitFailure)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "the stream ended: the process serving it stopped") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	r = run(t, "", "telemetry", "tail", "--attach", f.socket, "--record", filepath.Join(t.TempDir(), "r.ndjson"))
	if r.code != ExitUsage {
		t.Errorf("--attach with --record: exit %d", r.code)
	}
	oneLine(t, r, "not with --record")
}
