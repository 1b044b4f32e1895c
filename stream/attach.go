package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// A broker that ties the session to a certificate (High Mobility's) lets
// one process hold the feed. The ops box (`fleetdeck serve`) holds it, and
// hands the decoded stream to other processes of its owner on the same host
// (`fleetdeck telemetry tail`) over a unix socket only the owner can open.
//
// The protocol is lines. The client sends one JSON line, an AttachRequest;
// the server answers with lines that start with their kind:
//
//	m <message>   one message, formatted as the request asked (tail's text or JSON line)
//	s <state>     the connection state, as tail prints it (also once at the start)
//	d <count>     that many messages were dropped: the client did not keep up

// AttachRequest is what an attached client asks for.
type AttachRequest struct {
	JSON       bool   `json:"json,omitempty"`       // tail --json lines instead of text
	Vehicle    string `json:"vehicle,omitempty"`    // only this VIN or pseudonym
	Capability string `json:"capability,omitempty"` // only this capability
}

// Limits of the attach server.
const (
	maxAttached    = 16      // clients at once
	attachQueue    = 4096    // lines waiting for one client; more are dropped and counted
	maxAttachLine  = 4 << 10 // the request line
	attachHello    = 5 * time.Second
	maxSocketPath  = 104 // sun_path, with room to spare on every unix
	attachWriteMax = 10 * time.Second
)

// AttachServer serves a pipeline's decoded stream to attached clients. Set
// Publish as the pipeline's OnMessage and State as its OnState.
type AttachServer struct {
	log      *slog.Logger
	attached atomic.Int32

	mu      sync.Mutex
	clients map[*attachClient]struct{}
	state   string
}

type attachClient struct {
	req     AttachRequest
	out     chan []byte
	buf     []byte
	dropped int    // messages dropped since the client was last told; under AttachServer.mu
	state   string // a state line that found the queue full; under AttachServer.mu
}

// NewAttachServer returns a server with no clients.
func NewAttachServer(log *slog.Logger) *AttachServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AttachServer{log: log, clients: map[*attachClient]struct{}{}, state: Connecting.String()}
}

// Clients is the number of clients attached now.
func (s *AttachServer) Clients() int { return int(s.attached.Load()) }

// Publish hands m to every attached client that asked for it. It runs on
// the decode goroutine: it formats and queues, never waits.
func (s *AttachServer) Publish(m *Message) {
	if s.attached.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		if c.req.Vehicle != "" && m.Vehicle != c.req.Vehicle || c.req.Capability != "" && m.Capability != c.req.Capability {
			continue
		}
		c.buf = append(c.buf[:0], 'm', ' ')
		if c.req.JSON {
			c.buf = m.AppendJSON(c.buf)
		} else {
			c.buf = m.AppendText(c.buf)
		}
		c.buf = append(c.buf, '\n')
		s.send(c, bytes.Clone(c.buf))
	}
}

// State hands a connection state to every attached client. It must not
// block (the pipeline calls it under its lock).
func (s *AttachServer) State(st ConnState) {
	text := stateLine(st)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = text
	for c := range s.clients {
		select {
		case c.out <- []byte("s " + text + "\n"):
		default:
			c.state = text // told once the client has caught up
		}
	}
}

// stateLine is the state as tail prints it: "connected", "reconnecting 3
// (connection lost: EOF)", "failed: reason".
func stateLine(st ConnState) string {
	text := st.String()
	if st.Reason != "" && st.Phase != Failed && st.Phase != Replaying && st.Phase != Stopped {
		text += " (" + st.Reason + ")"
	}
	return text
}

// send queues line for c, or counts it dropped. Under s.mu.
func (s *AttachServer) send(c *attachClient, line []byte) {
	select {
	case c.out <- line:
	default:
		c.dropped++
	}
}

// caughtUp returns what c missed while its queue was full: the count of
// dropped messages and the newest state, as lines, and forgets them.
func (s *AttachServer) caughtUp(c *attachClient) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	if c.dropped > 0 {
		b = append(b, "d "+strconv.Itoa(c.dropped)+"\n"...)
	}
	if c.state != "" {
		b = append(b, "s "+c.state+"\n"...)
	}
	c.dropped, c.state = 0, ""
	return b
}

// ListenAttach creates the socket at path, mode 0600 from the start (it is
// made in a fresh 0700 directory, then moved into place), its directory
// 0700 when it has to be created. A live socket there is another process's
// stream: an error. A dead one (left by a crash) is replaced. Closing the
// listener removes the socket.
func ListenAttach(path string) (net.Listener, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	if len(path)+16 > maxSocketPath {
		return nil, fmt.Errorf("telemetry stream socket %s: a unix socket path has at most %d bytes: choose a shorter one", path, maxSocketPath-16)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("telemetry stream socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("telemetry stream socket %s: another process serves its stream there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("telemetry stream socket: remove the stale one: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(dir, ".a-")
	if err != nil {
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	ln, err := net.Listen("unix", filepath.Join(tmp, "s"))
	if err != nil {
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(filepath.Join(tmp, "s"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "s"), path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("telemetry stream socket: %w", err)
	}
	return &attachListener{UnixListener: ul, path: path}, nil
}

type attachListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *attachListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { _ = os.Remove(l.path) })
	return err
}

// Serve accepts clients on ln until ctx ends, then closes ln and every
// client.
func (s *AttachServer) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close() // once more, to wait for the socket's removal
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ln.Close()
			return fmt.Errorf("telemetry stream socket: %w", err)
		}
		wg.Go(func() { s.serveClient(ctx, conn) })
	}
}

func (s *AttachServer) serveClient(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(attachHello))
	line, err := bufio.NewReaderSize(io.LimitReader(conn, maxAttachLine), maxAttachLine).ReadBytes('\n')
	var req AttachRequest
	if err != nil || json.Unmarshal(line, &req) != nil {
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	c := &attachClient{req: req, out: make(chan []byte, attachQueue)}
	s.mu.Lock()
	if len(s.clients) >= maxAttached {
		s.mu.Unlock()
		_, _ = fmt.Fprintf(conn, "s failed: %d clients already attached (the limit)\n", maxAttached)
		return
	}
	s.clients[c] = struct{}{}
	s.attached.Add(1)
	c.out <- []byte("s " + s.state + "\n")
	s.mu.Unlock()
	s.log.Info("telemetry stream: client attached", "clients", s.attached.Load())
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.attached.Add(-1)
		s.mu.Unlock()
		s.log.Info("telemetry stream: client detached", "clients", s.attached.Load())
	}()
	// The client closing its end is noticed by this read.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = io.Copy(io.Discard, conn)
	}()
	w := bufio.NewWriterSize(conn, 32<<10)
	for {
		var line []byte
		select {
		case <-ctx.Done():
			return
		case <-gone:
			return
		case line = <-c.out:
		}
		_ = conn.SetWriteDeadline(time.Now().Add(attachWriteMax))
		if _, err := w.Write(line); err != nil {
			return
		}
		if len(c.out) == 0 { // a burst is written at once, then what it missed
			if _, err := w.Write(s.caughtUp(c)); err != nil {
				return
			}
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// AttachHandler receives what an attach server sends.
type AttachHandler struct {
	// Message gets one message line (without its newline), formatted by
	// the serving process's pipeline, which made every string in it safe
	// for a terminal; false stops.
	Message func(line []byte) bool
	State   func(text string)
	Dropped func(n int)
}

// ErrAttachEnded is returned when the serving process went away.
var ErrAttachEnded = errors.New("the stream ended: the process serving it stopped")

// Attach reads the stream served at path until ctx ends, h.Message returns
// false (nil), or the server goes away (ErrAttachEnded).
func Attach(ctx context.Context, path string, req AttachRequest, h AttachHandler) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("attach to the telemetry stream at %s: %w", path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	hello, _ := json.Marshal(req)
	if _, err := conn.Write(append(hello, '\n')); err != nil {
		return fmt.Errorf("attach to the telemetry stream at %s: %w", path, err)
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("telemetry stream at %s: a line longer than %d bytes", path, r.Size())
			}
			return fmt.Errorf("telemetry stream at %s: %w", path, ErrAttachEnded)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) < 2 || line[1] != ' ' {
			continue
		}
		body := line[2:]
		switch line[0] {
		case 'm':
			if h.Message != nil && !h.Message(body) {
				return nil
			}
		case 's':
			if h.State != nil {
				h.State(termsafe.String(string(body)))
			}
		case 'd':
			if n, err := strconv.Atoi(string(body)); err == nil && h.Dropped != nil {
				h.Dropped(n)
			}
		}
	}
}
