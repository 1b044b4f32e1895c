package sshserve

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox"
)

// The load measurement (FLEETDECK_SSH_LOAD=1): the server, its backend and
// the sandbox streaming 10,000 messages a second run in a child process, so
// that the SSH clients' own work is not counted; the parent opens 1, then
// 20 sessions and reads the child's CPU time and RSS from /proc.
//
//	FLEETDECK_SSH_LOAD=1 go test -run TestSSHLoad -v ./sshserve/
const (
	loadEnv      = "FLEETDECK_SSH_LOAD"
	loadChildEnv = "FLEETDECK_SSH_LOAD_CHILD"
	loadKeyEnv   = "FLEETDECK_SSH_LOAD_KEY"
	loadRate     = 10000
	loadSessions = 20
	loadWarmup   = 3 * time.Second
	loadWindow   = 10 * time.Second
)

// TestSSHLoadServer is the child: it serves until its stdin closes.
func TestSSHLoadServer(t *testing.T) {
	if os.Getenv(loadChildEnv) != "1" {
		t.Skip("the load test's child process")
	}
	f := startFleetdeck(t, Options{MaxSessions: 64, MaxSessionsPerKey: loadSessions}, sandbox.Options{Rate: loadRate})
	writeKeys(t, f.keysPath, os.Getenv(loadKeyEnv))
	announce(f.addr, f.hostKey)
	eof := waitStdinEOF()
	// What the stream really carried, on stderr (the parent shows it).
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	last, lastAt := f.backend.Pipeline.Stats(), time.Now()
	for {
		select {
		case <-eof:
			return
		case now := <-tick.C:
			st := f.backend.Pipeline.Stats()
			fmt.Fprintf(os.Stderr, "child: stream %.0f msg/s received, %.0f/s applied, %d dropped; %d sessions\n",
				float64(st.Received-last.Received)/now.Sub(lastAt).Seconds(), float64(st.Applied-last.Applied)/now.Sub(lastAt).Seconds(),
				st.Dropped, f.srv.Sessions())
			last, lastAt = st, now
		}
	}
}

type procSample struct {
	at  time.Time
	cpu time.Duration // user + system
	rss int64         // bytes
}

// sampleProc reads a process's CPU time and resident memory from /proc.
func sampleProc(t *testing.T, pid int) procSample {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ")".
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	s := procSample{at: time.Now(), cpu: time.Duration(utime+stime) * time.Second / ticks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = kb << 10
		}
	}
	return s
}

func TestSSHLoad(t *testing.T) {
	if os.Getenv(loadEnv) != "1" {
		t.Skip("set FLEETDECK_SSH_LOAD=1 to measure 20 sessions at 10,000 messages a second")
	}
	key := newSigner(t)
	c := startChild(t, "TestSSHLoadServer", loadChildEnv+"=1", loadKeyEnv+"="+authLine(key, `environment="FLEETDECK_ROLE=operator"`, "load"))
	go func() {
		for c.out.Scan() {
		}
	}()
	r, pid := c.running, c.pid

	var terms []*terminal
	open := func(n int) {
		for range n {
			c := r.dialKey(t, "load", key)
			tm, err := openTerminalOpts(t, c, 120, 40, true)
			if err != nil {
				t.Fatal(err)
			}
			terms = append(terms, tm)
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, tm := range terms[len(terms)-n:] {
			for tm.bytes() < 5_000 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			// Watch the telemetry: the pane that changes with the stream.
			tm.typeKeys("2")
		}
	}
	measure := func() (cpu float64, rss int64, bytesPerSec float64) {
		time.Sleep(loadWarmup)
		var b0 int64
		for _, tm := range terms {
			b0 += tm.bytes()
		}
		s0 := sampleProc(t, pid)
		time.Sleep(loadWindow)
		s1 := sampleProc(t, pid)
		var b1 int64
		for _, tm := range terms {
			b1 += tm.bytes()
		}
		wall := s1.at.Sub(s0.at)
		return float64(s1.cpu-s0.cpu) / float64(wall), s1.rss, float64(b1-b0) / wall.Seconds() / float64(len(terms))
	}

	base := sampleProc(t, pid)
	open(1)
	cpu1, rss1, out1 := measure()
	open(loadSessions - 1)
	cpuN, rssN, outN := measure()
	extra := float64(loadSessions - 1)
	t.Logf("child before any session: RSS %.1f MiB", float64(base.rss)/(1<<20))
	t.Logf("1 session:   CPU %5.1f%% of a core, RSS %6.1f MiB, %6.0f B/s to the session", cpu1*100, float64(rss1)/(1<<20), out1)
	t.Logf("%d sessions: CPU %5.1f%% of a core, RSS %6.1f MiB, %6.0f B/s to each session", loadSessions, cpuN*100, float64(rssN)/(1<<20), outN)
	t.Logf("per extra session: CPU %.2f%% of a core, RSS %.2f MiB", (cpuN-cpu1)/extra*100, float64(rssN-rss1)/extra/(1<<20))
}
