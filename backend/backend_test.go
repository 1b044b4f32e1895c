package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/stream"
)

// The backend serves its decoded stream on the socket it is given, from
// Build (a socket already served is an error at start) until Run ends.
func TestStreamSocket(t *testing.T) {
	// Run's work (the stream, the socket and its clients) must end with
	// its context.
	leaktest.Check(t)
	var rec strings.Builder
	for i := range 4 {
		fmt.Fprintf(&rec, `{"t":"2024-05-01T10:00:00.%dZ","topic":"live/level13/APP/WBA12345678901234/diagnostics/get/odometer","payload":{"message_id":"m%d","data":{"diagnostics":{"odometer":{"data":%d}}}}}`+"\n", 3*i, i, i)
	}
	recording := filepath.Join(t.TempDir(), "rec.ndjson")
	if err := os.WriteFile(recording, []byte(rec.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(t.TempDir(), "fleetdeck", "telemetry.sock")
	b, err := Build(&config.Config{}, Options{Replay: recording, StreamSocket: socket})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket after Build: %v, %v", fi, err)
	}
	if _, err := Build(&config.Config{}, Options{Replay: recording, StreamSocket: socket}); err == nil || !strings.Contains(err.Error(), "another process serves its stream there") {
		t.Errorf("a second backend on the same socket: %v", err)
	}

	// Run serves the socket: a client attached gets the stream's state at
	// once (the messages themselves: stream's attach tests).
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		b.Run(ctx)
	}()
	states := make(chan string, 16)
	attached := make(chan error, 1)
	go func() {
		attached <- stream.Attach(ctx, socket, stream.AttachRequest{}, stream.AttachHandler{State: func(s string) { states <- s }})
	}()
	select {
	case s := <-states:
		t.Logf("state through the socket: %s", s)
	case <-time.After(10 * time.Second):
		t.Fatal("no state through the socket")
	}
	cancel()
	<-ran
	<-attached
	if _, err := os.Lstat(socket); !os.IsNotExist(err) {
		t.Errorf("the socket outlived Run: %v", err)
	}
}
