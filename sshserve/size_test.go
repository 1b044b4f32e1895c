package sshserve

import (
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/ui"
)

// heapPeak samples the heap in use until stop is called, which returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		over = make(chan struct{})
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	go func() {
		defer close(over)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-over
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// widest is the widest line the client was sent, in cells. The output is
// not cut into lines reliably (the renderer sometimes moves the cursor
// where a line ends), so two lines of a frame may read as one: only a line
// wider than two clamped widths proves a frame wider than the clamp.
func widest(s string) int {
	w := 0
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}

// Any key may send any terminal size, a viewer's included: a pty-req of
// 4294967295 columns once ended the whole server in "out of memory". The
// size is clamped where it enters (pty-req, window-change, the PTY's own
// size), so a huge terminal costs what a large screen costs, up to the
// shutdown notice drawn across the width. Not parallel: it measures the
// process's heap.
func TestHugeTerminalSizes(t *testing.T) {
	// Sessions, the key watcher and the backend must all end with it.
	leaktest.Check(t)
	viewer := newSigner(t)
	p := servePlain(t, Options{}, authLine(viewer, "", "bob"))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	stop := heapPeak()
	const budget = 128 << 20

	// A pty-req 20 times wider and 10 times taller than the clamp.
	big, err := openTerminal(t, p.dialKey(t, "bob", viewer), 20000, 5000)
	if err != nil {
		t.Fatal(err)
	}
	big.waitFor(0, 20*time.Second, "bob (viewer)")
	peak := stop()
	t.Logf("a 20000×5000 pty-req: heap in use grew by %.1f MiB at most", float64(peak-base)/(1<<20))
	if peak-base > budget {
		t.Fatalf("a 20000×5000 pty-req: heap grew by %d MiB", (peak-base)>>20)
	}
	if w := widest(big.text()); w > 2*ui.MaxWidth {
		t.Errorf("a 20000×5000 pty-req: lines of %d cells were drawn", w)
	}

	stop = heapPeak()
	// A window-change to the largest size a PTY holds, and a pty-req of the
	// largest uint32.
	resized, err := openTerminal(t, p.dialKey(t, "bob", viewer), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	resized.waitFor(0, 20*time.Second, "bob (viewer)")
	m := resized.mark()
	if err := resized.sess.WindowChange(65535, 65535); err != nil {
		t.Fatal(err)
	}
	resized.typeKeys("?") // the help: a frame drawn at the new size
	resized.waitFor(m, 10*time.Second, "Keys")
	huge, err := openTerminal(t, p.dialKey(t, "bob", viewer), math.MaxUint32, math.MaxUint32)
	if err != nil {
		t.Fatal(err)
	}
	huge.waitFor(0, 20*time.Second, "bob (viewer)")

	// The shutdown notice is drawn across the whole width.
	m, hm := resized.mark(), huge.mark()
	p.stop(t)
	for _, tm := range []*terminal{resized, huge} {
		if err := tm.wait(10 * time.Second); err != nil {
			t.Errorf("session after the shutdown: %v", err)
		}
	}
	for _, s := range []string{resized.since(m), huge.since(hm)} {
		if !strings.Contains(s, "fleetdeck is shutting down") {
			t.Errorf("a session was not told of the shutdown:\n%s", tail(s, 500))
		}
	}
	peak = stop()
	t.Logf("window-change 65535×65535, pty-req 4294967295×4294967295, shutdown notices: heap in use grew by %.1f MiB at most", float64(peak-base)/(1<<20))
	if peak-base > budget {
		t.Errorf("window-change 65535×65535 and pty-req 4294967295×4294967295: heap grew by %d MiB", (peak-base)>>20)
	}
	for _, tm := range []*terminal{big, resized, huge} {
		if w := widest(tm.text()); w > 2*ui.MaxWidth {
			t.Errorf("lines of %d cells were drawn", w)
		}
	}
}
